"""localstripe on 127.0.0.1 only (its own launcher listens on every interface), keeping nothing
on disk (it would share /tmp/localstripe.pickle with every other instance).
Usage: python scripts/run_localstripe.py PORT"""

import socket
import sys

from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None

port = int(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", port))
web.run_app(server.app, sock=sock, print=None, access_log=None)
