"""Shop-front responsibility (门前三包): shop registry rules, QR tokens, monthly scores.
Pure Python, like ``cases``. The ``shops`` table exists from the first migration."""
