"""The customer portal and the staff dashboard (server-rendered FastAPI)."""
