-- Each successful sign-in deletes every pair's failures whose window is over (loginThrottle.ts): this finds them.
CREATE INDEX "login_failures_window_started_at_idx" ON "instagram"."login_failures" USING btree ("window_started_at");
