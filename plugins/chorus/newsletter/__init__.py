"""The community newsletter, made from the site's own content (Pelican-free).

- ``settings``: the ``CHORUS_NEWSLETTER_*`` / ``CHORUS_SMTP_*`` settings, checked once.
- ``issue``: issue files (``content/newsletter/<NNNN>.md``): read, write, next number and period.
- ``collect``: choose and group the period's posts into an issue's items.
- ``present``: an issue as templates show it (people resolved, sections in order).
- ``email``: the HTML and plain-text renderings and the MIME message.
- ``check``: the rules an email must pass before it is sent.
- ``addresses``: exactly one e-mail address from a list line, ``--to`` or a setting, or why not.
- ``send``: SMTP delivery with a rate limit and a ledger that makes resuming safe.
- ``services``: drafts pushed to Buttondown or listmonk.
- ``channel``: the one record per issue of the channel it went out through.
"""
