"""Staff authentication for the control center: lockout, rate limits and TOTP."""
