// Entry point for Supabase's Edge Runtime (`supabase functions deploy checkout`) and for a
// plain `deno run`: the logic lives in handler.ts so tests can call it without a server.
// Locally, DENO_SERVE_ADDRESS (e.g. tcp:127.0.0.1:54330) chooses where Deno.serve listens.
import { handler } from "./handler.ts";

Deno.serve(handler);
