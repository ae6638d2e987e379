"""Messages: Jinja2 templates, composition per channel, MIME, SMS text, signed tokens."""
