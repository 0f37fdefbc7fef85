"""The global rate limit on campaign mail: a token bucket in Redis shared by every worker,
so that all of them together send at most CAMPAIGN_RATE_PER_SECOND messages a second.
"""

from __future__ import annotations

import time

# A token bucket shared by every worker: refilled at `rate` per second up to one second's
# worth; answers how long to wait (0 when a token was taken). Redis TIME keeps one clock.
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

RATE_KEY = "helpdesk:campaigns:rate"


class RateLimiter:
    def __init__(self, redis, rate_per_second: int, key: str = RATE_KEY) -> None:
        self.rate = rate_per_second
        self.key = key
        self._script = redis.register_script(_TOKEN_BUCKET) if rate_per_second > 0 else None

    def wait(self) -> None:
        if self._script is None:
            return
        burst = max(1, self.rate)
        while True:
            delay = float(self._script(keys=[self.key], args=[self.rate, burst]))
            if delay <= 0:
                return
            time.sleep(delay)
