"""Slack slash commands (`/skuflow run|status|queue …`): the request signature, the commands,
and the deferred answer posted to Slack's `response_url`."""
