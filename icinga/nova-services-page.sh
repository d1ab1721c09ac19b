#!/bin/sh
# nova-services-page.sh - hand an Icinga 2 notification about check_nova_services to the on-call.
#
# Usage: nova-services-page.sh [-f FILE] [-m ADDRESS] [-e]
#   -f FILE     append the page to FILE (a spool your pager gateway reads, or an audit trail)
#   -m ADDRESS  send the page with mail(1) to ADDRESS (an e-mail-to-pager gateway, a team list)
#   -e          page a problem only when it eases a HARD CRITICAL (the check before this one was
#               CRITICAL, HARD): the on-call who was paged learns that CRITICAL became WARNING or
#               UNKNOWN; any other problem is dropped (exit 0, nothing sent)
# At least one of -f and -m is needed. Installed as /etc/icinga2/scripts/nova-services-page.sh
# (ConfigDir/scripts), called by the NotificationCommand "nova_services-page", which passes
# the notification in the environment:
#   NOTIFICATION_TYPE  PROBLEM, RECOVERY, ACKNOWLEDGEMENT, CUSTOM, ...
#   HOST_NAME, SERVICE_NAME, SERVICE_STATE, DATE_TIME
#   LAST_STATE, LAST_STATE_TYPE  the state and state type (HARD, SOFT) of the check before this one
#   SERVICE_OUTPUT     the plugin's output: first line, then the long output (-v lines)
#   NOTIFICATION_AUTHOR, NOTIFICATION_COMMENT (acknowledgements, custom notifications)
#
# A page is: one subject line (what a pager or SMS shows), then the full output. In FILE,
# pages are separated by an empty line. Exit status 0 only if every delivery worked;
# Icinga logs the output of a failed notification.

set -u

file=""
address=""
eased_only=""
while getopts "f:m:e" opt; do
	case "$opt" in
	f) file="$OPTARG" ;;
	m) address="$OPTARG" ;;
	e) eased_only=1 ;;
	*) echo "usage: $0 [-f FILE] [-m ADDRESS] [-e]" >&2; exit 3 ;;
	esac
done
if [ -z "$file" ] && [ -z "$address" ]; then
	echo "nova-services-page: nowhere to page: give -f FILE and/or -m ADDRESS" >&2
	exit 3
fi

type="${NOTIFICATION_TYPE:-CUSTOM}"
state="${SERVICE_STATE:-UNKNOWN}"
last="${LAST_STATE:-}"
# A problem that follows another problem of a HARD state says what it was: "is WARNING (was CRITICAL)".
was=""
if [ "$type" = PROBLEM ] && [ "${LAST_STATE_TYPE:-}" = HARD ] && [ -n "$last" ] && [ "$last" != OK ] && [ "$last" != "$state" ]; then
	was=" (was $last)"
fi
if [ -n "$eased_only" ] && { [ "$type" != PROBLEM ] || [ "$last" != CRITICAL ] || [ "$was" = "" ]; }; then
	exit 0 # not the easing of a paged CRITICAL: nothing to tell the on-call
fi
subject="[$type] ${SERVICE_NAME:-nova-services} on ${HOST_NAME:-?} is $state$was"
# $(...) drops the trailing newline Icinga keeps when perfdata had a line of its own.
body="$(printf '%s' "${SERVICE_OUTPUT:-}")"
if [ -n "${NOTIFICATION_COMMENT:-}" ]; then
	body="$body
Comment by ${NOTIFICATION_AUTHOR:-?}: $NOTIFICATION_COMMENT"
fi

status=0
if [ -n "$file" ]; then
	# One printf, one write(2) on an O_APPEND file: concurrent pages do not interleave.
	if ! printf '%s %s\n%s\n\n' "${DATE_TIME:-$(date '+%Y-%m-%d %H:%M:%S %z')}" "$subject" "$body" >>"$file"; then
		echo "nova-services-page: cannot append to $file" >&2
		status=2
	fi
fi
if [ -n "$address" ]; then
	if ! command -v mail >/dev/null 2>&1; then
		echo "nova-services-page: mail(1) not found: cannot page $address" >&2
		status=2
	elif ! printf '%s\n' "$body" | mail -s "$subject" "$address"; then
		echo "nova-services-page: mail to $address failed" >&2
		status=2
	fi
fi
exit "$status"
