"""Flask routes that are not Dash: login, health, JSON API, Open311, public QR pages."""
