"""Signing in and staying signed in: Auth's client per request (client), the sign-in cookies
(cookies), access tokens checked against Auth's keys (tokens), the session on every request
(session_middleware), and the sign-in forms and their calls to Auth (sign_in_form,
sign_in_flow). Who is looking, once verified, is portal.viewer.Viewer."""
