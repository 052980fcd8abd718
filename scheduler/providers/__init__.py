"""Calendar adapters: one module per provider, all behind `CalendarProvider` (base.py)."""
