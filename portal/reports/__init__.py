"""What a customer sees of a job: its progress (the job page), and the report at completion
(HTML, CSV and a PDF that Chromium prints from the report page)."""
