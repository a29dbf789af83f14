#!/bin/sh
# The broker's users, as RabbitMQ definitions, for RabbitMQ to import at
# boot (deploy/rabbitmq/30-egov-definitions.conf). Run by the compose
# file's one-shot `broker-definitions` job in the mesh's image (it has
# egovctl, sh and openssl) before any RabbitMQ node starts; writes into
# $EGOV_DEFINITIONS_DIR (the `broker-definitions` volume):
#
#   00-operators.json  the vhost "/" and the administrator
#                      (EGOV_OPERATOR_BROKER_USER / _PASSWORD: the operators'
#                      and the management UI's login), every permission on "/"
#   10-systems.json    one user per system, <namespace>-<system>, with only
#                      its own rights: `egovctl broker definitions`, which
#                      reads EGOV_BROKER_PASSWORD_<SYSTEM> for each system
#
# Passwords are stored as RabbitMQ stores them (rabbit_password_hashing_sha256:
# a random 4-byte salt, then SHA-256 of salt and password, in base64), never
# as plain text. Nothing here prints a password or a hash.
set -eu

dir=${EGOV_DEFINITIONS_DIR:?the directory RabbitMQ imports}
namespace=${EGOV_NAMESPACE:?the mesh queue namespace (bus.namespace)}
user=${EGOV_OPERATOR_BROKER_USER:?set in deploy/.env (EGOV_RABBITMQ_USER)}
password=${EGOV_OPERATOR_BROKER_PASSWORD:?set in deploy/.env (EGOV_RABBITMQ_PASSWORD)}

# They go into JSON as they are (deploy/check.sh keeps .env's values to these).
case "$user$password" in
    *[!A-Za-z0-9_-]*)
        echo "broker-definitions: the administrator's name and password must be letters, digits, '-' and '_'" >&2
        exit 1
        ;;
esac
case "$user" in
    "$namespace"-*)
        echo "broker-definitions: the administrator ($user) must not be named like a system's user ($namespace-<system>)" >&2
        exit 1
        ;;
esac
command -v openssl >/dev/null || {
    echo "broker-definitions: openssl is missing from the image" >&2
    exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

# Every system's user first: if egovctl fails (a password variable unset),
# nothing in the directory changes.
egovctl broker definitions --namespace "$namespace" --out "$work/10-systems.json"

openssl rand -out "$work/salt" 4
printf '%s' "$password" >"$work/password"
cat "$work/salt" "$work/password" | openssl dgst -sha256 -binary >"$work/digest"
hash=$(cat "$work/salt" "$work/digest" | base64 | tr -d '\n')
cat >"$work/00-operators.json" <<EOF
{
  "vhosts": [{"name": "/"}],
  "users": [
    {
      "name": "$user",
      "password_hash": "$hash",
      "hashing_algorithm": "rabbit_password_hashing_sha256",
      "tags": "administrator"
    }
  ],
  "permissions": [
    {"user": "$user", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
  ]
}
EOF

# RabbitMQ imports every file of the directory: only these two stay.
rm -f "$dir"/* "$dir"/.[!.]* 2>/dev/null || true
for f in 00-operators.json 10-systems.json; do
    cp "$work/$f" "$dir/$f"
    # Readable by RabbitMQ's user only (uid 999 in the rabbitmq image).
    chown 999:999 "$dir/$f"
    chmod 0400 "$dir/$f"
done
echo "broker-definitions: wrote $dir/00-operators.json (the administrator $user) and $dir/10-systems.json (the users $namespace-<system>)"
