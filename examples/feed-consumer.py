#!/usr/bin/env python3
"""Follows paygate's payments feed and prints each payment once, as JSON (Python standard library only).

Env: PAYGATE_FEED_URL (default http://127.0.0.1:8470), PAYGATE_FEED_TOKEN (a token with read on
payments), PAYGATE_FEED_STATE (file keeping the last entry id; default feed-consumer.last).
--once: stop when caught up instead of polling every 5 s. At-least-once: the id is saved after
each print, so a crash between the two prints that payment again on restart.
"""
import base64, os, sys, time, urllib.parse, urllib.request, xml.etree.ElementTree as ET

ATOM = '{http://www.w3.org/2005/Atom}'
base = os.environ.get('PAYGATE_FEED_URL', 'http://127.0.0.1:8470').rstrip('/') + '/feeds/payments'
state = os.environ.get('PAYGATE_FEED_STATE', 'feed-consumer.last')
headers = {'Authorization': 'Bearer ' + os.environ['PAYGATE_FEED_TOKEN']}
while True:
    last = open(state).read().strip() if os.path.exists(state) else ''
    url = base + ('?start_after=' + urllib.parse.quote(last, safe='') if last else '')
    feed = ET.fromstring(urllib.request.urlopen(urllib.request.Request(url, headers=headers)).read())
    for entry in feed.iter(ATOM + 'entry'):
        content = entry.find(ATOM + 'content')
        text = content.text or ''
        print(base64.b64decode(text).decode() if content.get('type') == 'application/json' else text, flush=True)
        with open(state, 'w') as f:
            f.write(entry.find(ATOM + 'id').text)
    more = any(link.get('rel') == 'next' for link in feed.findall(ATOM + 'link'))
    if not more and '--once' in sys.argv:
        break
    if not more:
        time.sleep(5)
