"""One router per resource; portal/app.py includes them."""
