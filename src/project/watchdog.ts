/**
 * The lease watchdog: a small POSIX sh program that wolphin adds to an instance's user data so the
 * instance enforces its own lease, with nobody else running anything (docs/leases.md). Pure text
 * generation; no SDK, no I/O.
 *
 * Every minute (systemd timer, or cron where there is no systemd) it reads the instance's own
 * `wolphin:expires-at` tag from the instance metadata service (IMDSv2; tags in metadata are enabled
 * at launch) and powers the instance off once the lease plus the grace has passed. EC2 then stops
 * or terminates it (InstanceInitiatedShutdownBehavior). `wolphin extend` only moves the tag: the
 * next check reads the new end. A missing, malformed or unreadable tag never powers anything off.
 */
import {Tag} from './tags.js'

/** Where the check is installed on the instance. */
export const WATCHDOG_PATH = '/usr/local/sbin/wolphin-lease-watchdog'

/**
 * The environment variable that points the check at another metadata service. It exists for
 * wolphin's own tests (a fake IMDS on loopback); nothing sets it on an instance.
 */
export const WATCHDOG_IMDS_ENV = 'WOLPHIN_LEASE_IMDS'

/** The check the timer runs every minute. `graceSeconds` is baked in (the config's lease.grace). */
export function watchdogScript(graceSeconds: number): string {
  const grace = Math.max(0, Math.ceil(graceSeconds))
  return `#!/bin/sh
# wolphin lease watchdog (see wolphin's docs/leases.md): powers this instance off once the lease in
# its ${Tag.ExpiresAt} tag, read from the instance metadata (IMDSv2), has passed by the grace.
# A missing or malformed tag, or an unreachable metadata service, never powers anything off.
GRACE=${grace}
IMDS=\${${WATCHDOG_IMDS_ENV}:-http://169.254.169.254}
say() { echo "wolphin-lease: $*"; }

# http METHOD URL HEADER: the body of a 200 answer; status 4 for 404, 1 for anything else.
http() {
  if command -v curl >/dev/null 2>&1; then
    out=$(curl -sS --connect-timeout 2 --max-time 5 -X "$1" -H "$3" -w ' %{http_code}' "$2" 2>/dev/null) || return 1
    case \${out##* } in
      200) printf '%s' "\${out% *}" ;;
      404) return 4 ;;
      *) return 1 ;;
    esac
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 5 -t 1 --method="$1" --header="$3" -O - "$2" 2>/dev/null || return 1
  else
    say "neither curl nor wget: cannot read the lease"
    return 1
  fi
}

# num DIGITS: the number without its leading zeros (so that 08 is not read as octal).
num() { n=\${1#"\${1%%[!0]*}"}; echo "\${n:-0}"; }

# epoch ISO-8601: seconds since 1970 (rounded up), or status 1 when it is not an instant like
# 2026-05-01T18:00:00.000Z or 2026-05-01T20:00+02:00 (the forms wolphin reads as a lease).
epoch() {
  v=$1
  case $v in *[!0-9TZ:.+-]*|'') return 1 ;; esac
  printf '%s\\n' "$v" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})$' || return 1
  y=$(num "$(echo "$v" | cut -c1-4)"); mo=$(num "$(echo "$v" | cut -c6-7)"); d=$(num "$(echo "$v" | cut -c9-10)")
  h=$(num "$(echo "$v" | cut -c12-13)"); mi=$(num "$(echo "$v" | cut -c15-16)")
  rest=\${v#????-??-??T??:??}; s=0; up=0
  case $rest in :*) s=$(num "$(echo "$rest" | cut -c2-3)"); rest=\${rest#:??} ;; esac
  case $rest in .*)
    frac=\${rest#.}; digits=\${frac%%[!0-9]*}; rest=\${frac#"$digits"}
    case $digits in *[1-9]*) up=1 ;; esac ;;
  esac
  [ "$mo" -ge 1 ] && [ "$mo" -le 12 ] && [ "$d" -ge 1 ] && [ "$d" -le 31 ] || return 1
  [ "$h" -le 23 ] && [ "$mi" -le 59 ] && [ "$s" -le 59 ] || return 1
  off=0
  case $rest in
    Z) ;;
    [+-]*) z=\${rest#?}; zh=$(num "$(echo "$z" | cut -c1-2)"); zm=\${z#??}; zm=$(num "\${zm#:}")
      [ "$zh" -le 23 ] && [ "$zm" -le 59 ] || return 1
      off=$((zh * 3600 + zm * 60)); case $rest in -*) off=$((0 - off)) ;; esac ;;
  esac
  # Days since 1970-01-01 of the civil date (H. Hinnant's algorithm, years from March).
  [ "$mo" -le 2 ] && y=$((y - 1))
  era=$((y / 400)); yoe=$((y - era * 400)); mp=$(((mo + 9) % 12))
  doy=$(((153 * mp + 2) / 5 + d - 1)); doe=$((yoe * 365 + yoe / 4 - yoe / 100 + doy))
  echo $(((era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s - off + up))
}

token=$(http PUT "$IMDS/latest/api/token" 'X-aws-ec2-metadata-token-ttl-seconds: 60') || {
  say "no token from the instance metadata service; lease not checked"; exit 0; }
lease=$(http GET "$IMDS/latest/meta-data/tags/instance/${Tag.ExpiresAt}" "X-aws-ec2-metadata-token: $token")
case $? in
  0) ;;
  4) say "no ${Tag.ExpiresAt} tag: no lease"; exit 0 ;;
  *) say "cannot read ${Tag.ExpiresAt} from the instance metadata; lease not checked"; exit 0 ;;
esac
end=$(epoch "$lease") || { say "${Tag.ExpiresAt} is not an ISO-8601 instant; left alone"; exit 0; }
now=$(epoch "$(date -u +%Y-%m-%dT%H:%M:%SZ)") || exit 0
if [ "$now" -ge $((end + GRACE)) ]; then
  say "lease ended at $lease (grace \${GRACE}s): powering off"
  if command -v shutdown >/dev/null 2>&1; then shutdown -h now "wolphin: lease ended at $lease"
  elif command -v poweroff >/dev/null 2>&1; then poweroff
  else systemctl poweroff; fi
else
  say "lease ends at $lease (grace \${GRACE}s): $((end + GRACE - now))s left"
fi
`
}

/**
 * The user-data part that installs the check and its schedule at first boot: a systemd timer
 * every minute, else /etc/cron.d, else the root crontab. It runs before the user's own scripts
 * (cloud-init runs them in file-name order), so a user script that hangs cannot delay it.
 */
export function watchdogInstaller(graceSeconds: number): string {
  return `#!/bin/sh
# Added by wolphin: installs the lease watchdog (${WATCHDOG_PATH}, every minute). Opt out with
# lease: {enforce: reaper}.
mkdir -p /usr/local/sbin
cat > ${WATCHDOG_PATH} <<'WOLPHIN_WATCHDOG_EOF'
${watchdogScript(graceSeconds)}WOLPHIN_WATCHDOG_EOF
chmod 755 ${WATCHDOG_PATH}
# Every minute from cron: /etc/cron.d, else root's crontab.
cron() {
  if [ -d /etc/cron.d ]; then
    echo '* * * * * root ${WATCHDOG_PATH}' > /etc/cron.d/wolphin-lease && chmod 644 /etc/cron.d/wolphin-lease
  elif command -v crontab >/dev/null 2>&1; then
    (crontab -l 2>/dev/null | grep -v wolphin-lease-watchdog; echo '* * * * * ${WATCHDOG_PATH}') | crontab -
  else
    echo 'wolphin-lease: no systemd and no cron: this instance does not enforce its lease' >&2
    return 1
  fi
}
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  cat > /etc/systemd/system/wolphin-lease.service <<'WOLPHIN_UNIT_EOF'
[Unit]
Description=wolphin lease watchdog: power off once wolphin:expires-at has passed
[Service]
Type=oneshot
ExecStart=${WATCHDOG_PATH}
WOLPHIN_UNIT_EOF
  cat > /etc/systemd/system/wolphin-lease.timer <<'WOLPHIN_UNIT_EOF'
[Unit]
Description=wolphin lease watchdog, every minute
[Timer]
OnBootSec=1min
OnUnitActiveSec=1min
AccuracySec=5s
[Install]
WantedBy=timers.target
WOLPHIN_UNIT_EOF
  systemctl daemon-reload && systemctl enable --now wolphin-lease.timer || cron
else
  cron
fi
`
}
