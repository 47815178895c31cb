#!/usr/bin/env bash
# Active health checks for open-source nginx, driven by the servers' GET /health.
#
# Probes http://ADDR/health for every "server ADDR ...;" line of the upstream in CONF, marks
# the servers that do not answer 200 "down", un-marks the ones that answer again, and reloads
# nginx (gracefully) when something changed. Run it from cron, a systemd timer or a loop:
#   while sleep 5; do tests/nginx/health-check.sh /etc/nginx/nginx.conf; done
#
# usage: health-check.sh CONF [PREFIX]   (PREFIX: nginx -p, for a non-default prefix)
# env:   NGINX (default: nginx), TIMEOUT seconds per probe (default: 2)
set -euo pipefail
conf=${1:?usage: health-check.sh CONF [PREFIX]}
prefix=${2:-}
nginx=${NGINX:-nginx}
timeout=${TIMEOUT:-2}

changed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
re='^([[:space:]]*server[[:space:]]+)([^[:space:];{]+:[0-9]+)([^;]*);(.*)$'
while IFS= read -r line || [[ -n $line ]]; do
  if [[ $line =~ $re ]]; then
    lead=${BASH_REMATCH[1]} addr=${BASH_REMATCH[2]} params=${BASH_REMATCH[3]} tail=${BASH_REMATCH[4]}
    params=${params// down/}
    if curl -fsS -m "$timeout" -o /dev/null "http://$addr/health"; then
      state=up new="$lead$addr$params;$tail"
    else
      state=down new="$lead$addr$params down;$tail"
    fi
    echo "$addr $state"
    [[ $new == "$line" ]] || changed=1
    line=$new
  fi
  printf '%s\n' "$line" >>"$out"
done <"$conf"

if [[ $changed == 1 ]]; then
  cat "$out" >"$conf"
  if [[ -n $prefix ]]; then
    "$nginx" -p "$prefix" -c "$conf" -s reload
  else
    "$nginx" -c "$conf" -s reload
  fi
  echo "reloaded nginx"
fi
