"""Local stand-ins for Supabase and the outside world. Never imported by production code."""
