"""The review workbench: server-rendered pages under ``/ui`` for the people who decide.

Sign in with an API key; review the queue with the evidence and the keyboard; follow a record's
history and roll a field back; see runs, conflicts, match proposals and the Analyse page. Every
action calls the change API's services (`api.review`), which call the same domain functions as
`skuflow review`, so a decision made here is the same decision made anywhere else.
"""
