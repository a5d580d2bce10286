#!/usr/bin/env bash
# A throwaway OpenSSH SFTP server on 127.0.0.1 for the end-to-end test (Tests/SFTPTests).
#
#   scripts/sftp-test-server.sh start          starts it; prints KEY=VALUE lines (BASE, PORT, USER,
#                                              CLIENT_KEY, CHROOT, INBOX, OUTBOX, PID)
#   scripts/sftp-test-server.sh stop BASE      stops it by its pid and removes everything it made
#
# Needs root (an account, a chroot) and Debian's openssh-server (`.ci/run` installs it).
# Traps, measured (docs/PLATFORM-NOTES.md, "Files and SFTP"): sshd wants absolute paths and /run/sshd; with `UsePAM no`
# a new account must be unlocked (`usermod -p '*'`); `ChrootDirectory` must be root-owned on every
# component and not group- or world-writable, so it lives under /srv, not /tmp.
set -euo pipefail

start() {
  [ "$(id -u)" -eq 0 ] || { echo "sftp-test-server: needs root" >&2; exit 77; }
  [ -x /usr/sbin/sshd ] || { echo "sftp-test-server: /usr/sbin/sshd missing: apt-get install openssh-server" >&2; exit 69; }
  local base user chroot state port
  base=$(mktemp -d /srv/sisdrop-sftp-test.XXXXXX)
  # Whatever fails from here on (set -e), the account and the folder made so far go with it.
  STARTING_BASE="$base"
  trap 'status=$?; stop "$STARTING_BASE" >/dev/null 2>&1 || true; exit "$status"' EXIT
  chmod 755 "$base"
  user="sdsftp$$"
  # Named before it exists, so that stop can remove it even when start fails right after useradd.
  echo "$user" >"$base/account"
  chroot="$base/chroot"
  state="$base/state"
  mkdir -p "$chroot" "$state" /run/sshd
  chmod 755 "$chroot" /run/sshd
  chmod 700 "$state"
  useradd --no-create-home --home-dir / --shell /usr/sbin/nologin --user-group "$user"
  usermod -p '*' "$user"
  # The drop folders: the account writes the inbox; sisdrop (root) writes the outbox, whose setgid
  # group lets the account read the 0640 delivery files.
  mkdir "$chroot/inbox" "$chroot/outbox"
  chown "$user:$user" "$chroot/inbox" "$chroot/outbox"
  chmod 0750 "$chroot/inbox"
  chmod 2750 "$chroot/outbox"
  ssh-keygen -q -t ed25519 -N '' -f "$state/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$state/client_key"
  # sshd reads authorized_keys as the account: outside the private state folder.
  mkdir -m 755 "$base/keys"
  cp "$state/client_key.pub" "$base/keys/authorized_keys"
  chmod 644 "$base/keys/authorized_keys"
  # A free port: try a few from a pseudo-random start until sshd binds.
  for attempt in $(seq 1 20); do
    port=$(( 20000 + (RANDOM % 20000) ))
    cat >"$state/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $state/host_key
PidFile $state/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $base/keys/authorized_keys
StrictModes no
AllowUsers $user
LogLevel VERBOSE
Subsystem sftp internal-sftp
Match User $user
  ForceCommand internal-sftp
  ChrootDirectory $chroot
  AllowTcpForwarding no
  X11Forwarding no
  PermitTTY no
EOF
    rm -f "$state/sshd.pid"
    if /usr/sbin/sshd -f "$state/sshd_config" -E "$state/sshd.log"; then
      for _ in $(seq 1 50); do
        [ -s "$state/sshd.pid" ] && break
        sleep 0.1
      done
      if [ -s "$state/sshd.pid" ] && kill -0 "$(cat "$state/sshd.pid")" 2>/dev/null; then
        echo "BASE=$base"
        echo "PORT=$port"
        echo "USER=$user"
        echo "CLIENT_KEY=$state/client_key"
        echo "CHROOT=$chroot"
        echo "INBOX=$chroot/inbox"
        echo "OUTBOX=$chroot/outbox"
        echo "PID=$(cat "$state/sshd.pid")"
        trap - EXIT
        return 0
      fi
    fi
  done
  echo "sftp-test-server: sshd did not start; its log:" >&2
  cat "$state/sshd.log" >&2 || true
  exit 70  # the EXIT trap stops and removes everything
}

stop() {
  local base="$1" pid user failed=0
  case "$base" in /srv/sisdrop-sftp-test.*) ;; *) echo "sftp-test-server: not a test server folder: $base" >&2; exit 64 ;; esac
  if [ -s "$base/state/sshd.pid" ]; then
    pid=$(cat "$base/state/sshd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # Still there after 5 s (a loaded machine, a stuck child): SIGKILL, and wait until it is gone.
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    if kill -0 "$pid" 2>/dev/null; then echo "sftp-test-server: sshd $pid did not stop" >&2; failed=1; fi
  fi
  # The account: the one start named (or, from older folders, the one in the config).
  user=$(cat "$base/account" 2>/dev/null || sed -n 's/^AllowUsers //p' "$base/state/sshd_config" 2>/dev/null || true)
  case "$user" in sdsftp[0-9]*) ;; *) user="" ;; esac
  if [ -n "$user" ] && id "$user" >/dev/null 2>&1; then
    # Sessions of this server's account end when their clients go; any left are ended by pid.
    for _ in $(seq 1 30); do pgrep -u "$user" >/dev/null || break; sleep 0.1; done
    for p in $(pgrep -u "$user" || true); do kill "$p" 2>/dev/null || true; done
    for _ in $(seq 1 30); do pgrep -u "$user" >/dev/null || break; sleep 0.1; done
    for p in $(pgrep -u "$user" || true); do kill -KILL "$p" 2>/dev/null || true; done
    for _ in $(seq 1 30); do pgrep -u "$user" >/dev/null || break; sleep 0.1; done
    userdel "$user" 2>/dev/null || true
    getent group "$user" >/dev/null && groupdel "$user" 2>/dev/null || true
    if id "$user" >/dev/null 2>&1; then echo "sftp-test-server: account $user not removed" >&2; failed=1; fi
  fi
  rm -rf "$base"
  return "$failed"
}

case "${1:-}" in
  start) start ;;
  stop) [ -n "${2:-}" ] || { echo "usage: $0 stop BASE" >&2; exit 64; }; stop "$2" ;;
  *) echo "usage: $0 start | stop BASE" >&2; exit 64 ;;
esac
