"""The staff dashboard under /staff: queue status, jobs, drill-down, interventions through the
orchestrator's staff API, charts, alerts, live updates from Realtime topic `staff`."""
