# SPDX-License-Identifier: MIT
#
# Shared by http-bench.sh and http-malloc.sh (sourced, not run): the
# served root, wrk's 16-deep pipelining script and nginx's config, all
# under a scratch folder.

# http_setup TMP NGINX_PORT: TMP/root (a 4 KiB file), TMP/pipe.lua, and
# TMP/nginx/nginx.conf for one worker, access_log off, /plaintext.
http_setup() {
	local tmp=$1 port=$2

	mkdir -p "$tmp/root" "$tmp/nginx/logs"
	head -c 4096 /dev/urandom >"$tmp/root/4k.bin"
	chmod -R a+rX "$tmp/root"
	cat >"$tmp/pipe.lua" <<'LUA'
init = function(args)
	local r = {}
	for i = 1, 16 do r[i] = wrk.format(nil, wrk.path) end
	req = table.concat(r)
end
request = function() return req end
LUA
	cat >"$tmp/nginx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 20000; }
http {
	access_log off;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$port reuseport backlog=4096;
		location = /plaintext {
			default_type text/plain;
			return 200 "Hello, World!";
		}
		location / { root $tmp/root; }
	}
}
NGX
}
