# Shell helpers shared by the test environment's start and stop scripts (sourced).
# Each caller sets STATE: the directory for its PKI, logs and PID files.

# make_ca DIR: a self-signed CA (ca.crt, ca.key) and the extension files sign() uses.
make_ca() {
  ( cd "$1"
    printf '[req]\ndistinguished_name=dn\nprompt=no\nx509_extensions=v3_ca\n[dn]\nCN=bigtop-testenv-ca\n[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n' > ca.cnf
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -config ca.cnf -keyout ca.key -out ca.crt 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > client.ext
    openssl genrsa -traditional -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null )
}

# server_ext DIR NAME SANS: an extension file for a serving certificate with these SANs.
server_ext() {
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$3" > "$1/$2.ext"
}

# sign DIR NAME SUBJECT EXTFILE: a key and a certificate signed by DIR's CA.
sign() {
  ( cd "$1"
    openssl req -new -newkey rsa:2048 -nodes -keyout "$2.key" -out "$2.csr" -subj "$3" 2>/dev/null
    openssl x509 -req -in "$2.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 -extfile "$4" -out "$2.crt" 2>/dev/null )
}

# kubeconfig FILE SERVER PKI CERTNAME: a kubeconfig with a client certificate.
kubeconfig() {
  local b64ca b64crt b64key
  b64ca=$(base64 -w0 < "$3/ca.crt"); b64crt=$(base64 -w0 < "$3/$4.crt"); b64key=$(base64 -w0 < "$3/$4.key")
  cat > "$1" <<KCEOF
apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster: {server: "$2", certificate-authority-data: $b64ca}
users:
- name: $4
  user: {client-certificate-data: $b64crt, client-key-data: $b64key}
contexts:
- name: testenv
  context: {cluster: testenv, user: $4}
current-context: testenv
KCEOF
}

# start NAME CMD...: run in its own process group, log to $STATE/logs/NAME.log, remember the PID.
start() { local name=$1; shift; setsid "$@" >"$STATE/logs/$name.log" 2>&1 < /dev/null & echo $! > "$STATE/$name.pid"; }

# await NAME URL [curl args]: poll until healthy or fail with the component's last log lines.
await() { local name=$1 url=$2; shift 2
  for _ in $(seq 1 240); do curl -fsS "$@" "$url" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "$name did not become healthy; last log lines:" >&2; tail -n 50 "$STATE/logs/$name.log" >&2; exit 1; }

# stop NAME...: TERM each recorded process group, then KILL what is left; by PID, never by name.
stop() {
  local name f pid
  for name in "$@"; do
    f=$STATE/$name.pid; [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

# elapsed SINCE: seconds since SINCE (a `date +%s.%N` value), one decimal.
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
