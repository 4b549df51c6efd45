#!/usr/bin/env bash
# gen-certs.sh DIR - development certificates for closeloop: an ECDSA P-256 CA, a server
# certificate for localhost / 127.0.0.1 / ::1, and one client certificate (a city
# company's desktop). Keeps existing files: delete DIR to start over.
# Output: DIR/ca.crt ca.key server.crt server.key client.crt client.key
set -euo pipefail
dir=${1:?usage: gen-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077
days=825
if [ ! -s ca.crt ] || [ ! -s ca.key ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=closeloop dev/CN=closeloop dev CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out ca.crt
    rm -f server.crt client.crt
fi
issue() { # name subject extensions
    local name=$1 subj=$2 ext=$3
    [ -s "$name.crt" ] && [ -s "$name.key" ] && return 0
    openssl ecparam -name prime256v1 -genkey -noout -out "$name.key"
    openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
    printf '%b' "$ext" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
        -days "$days" -extfile "$name.ext" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}
issue server "/O=closeloop dev/CN=localhost" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
issue client "/O=closeloop dev/OU=city-company-1/CN=desktop-1" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
chmod 644 ca.crt server.crt client.crt
