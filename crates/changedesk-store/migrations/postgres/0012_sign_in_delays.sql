-- changedesk sign-in, version 12: failed sign-ins per account, for the
-- server's progressive delays (an account is slowed down, never locked out:
-- each failure beyond the free ones doubles the wait before the next
-- attempt, up to a bound). A successful sign-in or an admin's unlock resets
-- them.
ALTER TABLE users ADD COLUMN failed_sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_failed_sign_in_at TEXT;
