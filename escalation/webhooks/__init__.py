"""Outgoing webhooks after the Standard Webhooks specification (https://www.standardwebhooks.com),
one small package like healthchecks' per-integration packages:

- `signing`: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<base64 HMAC-SHA256>`
  over `{id}.{timestamp}.{body}` keyed with the endpoint's `whsec_` secret; both signatures
  during a 24-hour rotation) and the receiver's `verify`;
- `addresses`: the SSRF guard, applied when an endpoint is saved and again before each send;
- `events`: which events become outbox rows (one per endpoint, event and key) and what they say;
- `endpoints`: managing an organisation's endpoints (create, rotate, test event);
- `transport`: one delivery attempt of a claimed row, its log entry and the retry policy.
"""
