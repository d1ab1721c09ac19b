#!/bin/sh
# nova-services-page.sh - hand an Icinga 2 notification about check_nova_services to the on-call.
#
# Usage: nova-services-page.sh [-f FILE] [-m ADDRESS] [-o DIR]
#   -f FILE     append the page to FILE (a spool your pager gateway reads, or an audit trail)
#   -m ADDRESS  send the page with mail(1) to ADDRESS (an e-mail-to-pager gateway, a team list)
#   -o DIR      page only what concerns an open page, kept as a file per service in DIR (made if
#               missing): a CRITICAL opens it and is paged (reminders too); while it is open, a
#               change to WARNING or UNKNOWN is paged (not their reminders), and so are an
#               acknowledgement and the recovery, which closes it. Anything else (a WARNING or
#               UNKNOWN that followed no paged CRITICAL, its acknowledgement and recovery) is
#               dropped: exit 0, nothing sent. Custom notifications are always sent.
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
open_dir=""
while getopts "f:m:o:" opt; do
	case "$opt" in
	f) file="$OPTARG" ;;
	m) address="$OPTARG" ;;
	o) open_dir="$OPTARG" ;;
	*) echo "usage: $0 [-f FILE] [-m ADDRESS] [-o DIR]" >&2; exit 3 ;;
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
status=0
if [ -n "$open_dir" ]; then
	# One file per service: its name is the host and service, with no '/' in it.
	open="$open_dir/$(printf '%s!%s' "${HOST_NAME:-?}" "${SERVICE_NAME:-nova-services}" | tr '/' '_')"
	case "$type" in
	PROBLEM)
		if [ "$state" = CRITICAL ]; then
			if ! { mkdir -p "$open_dir" && : >"$open"; } 2>/dev/null; then
				# Paged all the same; Icinga logs this line with the exit status 2.
				echo "nova-services-page: cannot mark the page open in $open_dir: its easing and recovery will not be paged" >&2
				status=2
			fi
		elif [ ! -e "$open" ] || [ "$last" = "$state" ]; then
			exit 0 # no paged CRITICAL before it, or a reminder of a change already paged
		fi
		;;
	RECOVERY)
		[ -e "$open" ] || exit 0 # the on-call was never paged for this problem
		rm -f "$open"
		;;
	ACKNOWLEDGEMENT)
		[ -e "$open" ] || exit 0
		;;
	esac
fi
subject="[$type] ${SERVICE_NAME:-nova-services} on ${HOST_NAME:-?} is $state$was"
# $(...) drops the trailing newline Icinga keeps when perfdata had a line of its own.
body="$(printf '%s' "${SERVICE_OUTPUT:-}")"
if [ -n "${NOTIFICATION_COMMENT:-}" ]; then
	body="$body
Comment by ${NOTIFICATION_AUTHOR:-?}: $NOTIFICATION_COMMENT"
fi

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
