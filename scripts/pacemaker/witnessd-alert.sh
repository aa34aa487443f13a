#!/bin/sh
# witnessd's Pacemaker alert agent: Pacemaker's node and resource alerts become witnessd's
# own operator commands on its admin API, so that a Pacemaker cluster (SMB servers behind
# IPaddr2 resources) is a witnessd cluster source without a line of daemon code:
#   node lost            → POST /v1/nodes/NODE/fail     (NodeDown: RESOURCE_CHANGE UNAVAILABLE,
#                                                        the LIFs fail over to the SFO partner)
#   node member          → POST /v1/nodes/NODE/recover  (NodeUp: AVAILABLE)
#   resource start ok    → POST /v1/lifs/RSC/migrate {to: NODE}  when RSC names a LIF
#                          (CLIENT_MOVE to the node the address now serves from)
# Anything else (fencing, monitor, stop, a failed operation, a resource that is not a LIF)
# is ignored: a lost node comes as a node alert, a moved IP as the start on its new node.
# Names: Pacemaker's node names are the document's node names, and an IPaddr2 resource's id
# is its LIF's name (witnessd --check-config lists them).
#
# Install on every node (Pacemaker runs the agent as hacluster, on each node, for each event):
#   install -m 0755 scripts/pacemaker/witnessd-alert.sh /usr/local/libexec/witnessd-alert.sh
#   pcs alert create id=witnessd path=/usr/local/libexec/witnessd-alert.sh \
#       options witnessd_token_file=/etc/witnessd/admin.token
#   pcs alert recipient add witnessd value=http://WITNESSD_HOST:8135
# The recipient is the admin API's URL (one recipient per witnessd). Every node's agent sends
# the same command: the first one acts, the others get 409 (already done) and are quiet.
#
# Every request is bounded (curl --max-time, WITNESSD_ALERT_TIMEOUT seconds, default 5) and the
# agent always exits 0: Pacemaker is never held up by a dead witnessd; what happened goes to
# stderr (Pacemaker logs an agent's output).

url=${CRM_alert_recipient:-}
[ -n "$url" ] || exit 0 # no recipient configured yet: nothing to tell
token=${witnessd_token:-}
if [ -z "$token" ] && [ -n "${witnessd_token_file:-}" ] && [ -r "$witnessd_token_file" ]; then
	token=$(cat "$witnessd_token_file")
fi
max=${WITNESSD_ALERT_TIMEOUT:-5}

# Names go into a URL path and a JSON string: only what a node or resource id can hold.
safe() { case $1 in *[!A-Za-z0-9._:-]* | '') return 1 ;; esac; }

post()
{
	_path=$1 _body=${2:-'{}'}
	if [ -n "$token" ]; then
		_out=$(curl -sS --max-time "$max" -o - -w ' %{http_code}' -X POST -H 'content-type: application/json' \
			-H "authorization: Bearer $token" --data "$_body" "$url$_path" 2>&1)
	else
		_out=$(curl -sS --max-time "$max" -o - -w ' %{http_code}' -X POST -H 'content-type: application/json' \
			--data "$_body" "$url$_path" 2>&1)
	fi
	_code=${_out##* }
	case $_code in
	2??) echo "witnessd-alert: POST $_path: done" >&2 ;;
	409) echo "witnessd-alert: POST $_path: already so (409)" >&2 ;;
	*) echo "witnessd-alert: POST $_path: ${_out}" >&2 ;;
	esac
}

node=${CRM_alert_node:-}
case ${CRM_alert_kind:-} in
node)
	safe "$node" || exit 0
	case ${CRM_alert_desc:-} in
	lost) post "/v1/nodes/$node/fail" ;;
	member) post "/v1/nodes/$node/recover" ;;
	esac
	;;
resource)
	rsc=${CRM_alert_rsc:-}
	safe "$node" && safe "$rsc" || exit 0
	if [ "${CRM_alert_task:-}" = start ] && [ "${CRM_alert_rc:-1}" = 0 ] && [ "${CRM_alert_target_rc:-0}" = 0 ]; then
		post "/v1/lifs/$rsc/migrate" "{\"to\":\"$node\"}"
	fi
	;;
esac
exit 0
