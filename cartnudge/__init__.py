"""cartnudge: abandoned-cart reminders, run from cron."""
