"""gunicorn settings for the shop: `gunicorn -c python:shop.gunicorn_conf 'app:create_app()'` (README.md).

Its access log, when turned on (`--access-logfile -`), shows paths without their query string (`%(U)s`,
not `%(r)s`): the query of KCO's callback URLs carries the callback token (shop/security.py), which must not
end up in log files. Put the same rule on a reverse proxy's access log.
"""

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
