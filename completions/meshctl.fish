# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_meshctl_global_optspecs
    string join \n config= region= profile= output= y/yes dry-run v/verbose no-color timeout= call-timeout= no-wait no-rollback force-unlock lock-timeout= allow-region-change h/help V/version
end

function __fish_meshctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_meshctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_meshctl_using_subcommand
    set -l cmd (__fish_meshctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c meshctl -n "__fish_meshctl_needs_command" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_needs_command" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_needs_command" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_needs_command" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_needs_command" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_needs_command" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_needs_command" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_needs_command" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_needs_command" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_needs_command" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_needs_command" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_needs_command" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "up" -d 'Create or update the whole stack, running independent steps concurrently'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "cluster" -d 'EKS cluster, VPC, node groups and OIDC provider'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "istio" -d 'Istio control plane and ingress gateway (Helm charts)'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "amp" -d 'Amazon Managed Service for Prometheus workspace and Istio rules'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "irsa" -d 'IAM roles for service accounts used by the collectors'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "prometheus" -d 'Prometheus remote-writing Istio metrics to AMP with SigV4'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "kiali" -d 'Kiali reading AMP through a SigV4 proxy (`kiali open` port-forwards to it)'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "grafana" -d 'Amazon Managed Grafana workspace, AMP data source and Istio dashboards'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "pagerduty" -d 'PagerDuty service and Grafana alerting to it (`pagerduty test` sends a test event)'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "cleanup" -d 'Remove everything this stack owns, found by tags and labels'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "status" -d 'Show what exists for this stack'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "doctor" -d 'Check that this machine and account are ready for `meshctl up`: config, region, credentials, helm, endpoints and the quotas that commonly block EKS. Changes nothing'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "verify" -d 'Prove the data path end to end (AMP query, Grafana data source and dashboards, PagerDuty contact point) and name the first broken link with its likely fix'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "init" -d 'Write a commented meshctl.yaml'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "token" -d 'Print an EKS bearer token as a client-go ExecCredential, for kubeconfig `exec` entries (what `aws eks get-token` prints; no AWS CLI needed and no network call)'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "traffic" -d 'Send HTTP load to the sample\'s product page (or --url) and summarise latency and errors'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "kubeconfig" -d 'Write or merge a kubeconfig context for the stack\'s EKS cluster whose user runs `meshctl token` (what `aws eks update-kubeconfig` does; no AWS CLI needed)'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "migrate" -d 'Migrate another service mesh to Istio (`migrate appmesh …`, docs/migrate-appmesh.md)'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l only -d 'Run only these steps (comma separated), e.g. `--only amp,grafana`' -r -f -a "cluster\t''
nodes\t'The cluster\'s managed node groups: a step of their own so that work needing only the control plane (`irsa`, `istio`) starts while nodes are still being created'
istio\t''
amp\t''
irsa\t''
prometheus\t''
kiali\t''
grafana\t''
pagerduty\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c meshctl -n "__fish_meshctl_using_subcommand up" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand cluster" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand istio" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand amp" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand irsa" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand prometheus" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -f -a "open" -d 'Port-forward to Kiali through the API server and print the local URL (until Ctrl-C)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and not __fish_seen_subcommand_from open help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l port -d 'Local port to listen on (127.0.0.1)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from open" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from help" -f -a "open" -d 'Port-forward to Kiali through the API server and print the local URL (until Ctrl-C)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kiali; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand grafana" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -f -a "test" -d 'Send a test event through the Events API v2, report its dedup key, then resolve it'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and not __fish_seen_subcommand_from test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from help" -f -a "test" -d 'Send a test event through the Events API v2, report its dedup key, then resolve it'
complete -c meshctl -n "__fish_meshctl_using_subcommand pagerduty; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l only -d 'Clean up only these steps (comma separated), e.g. `--only amp`' -r -f -a "cluster\t''
nodes\t'The cluster\'s managed node groups: a step of their own so that work needing only the control plane (`irsa`, `istio`) starts while nodes are still being created'
istio\t''
amp\t''
irsa\t''
prometheus\t''
kiali\t''
grafana\t''
pagerduty\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c meshctl -n "__fish_meshctl_using_subcommand cleanup" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand status" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand verify" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l name -d 'Stack name (asked on a terminal when omitted)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l cluster-name -d 'EKS cluster name, when it differs from the stack name (required with --adopt-cluster)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l adopt-cluster -d 'Adopt an existing EKS cluster instead of creating one (`cluster.create: false`)'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l force -d 'Overwrite an existing file'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand init" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l cluster -d 'Name of the EKS cluster the token is for (the API server checks it)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand token" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l url -d 'URL to load; default: the Bookinfo product page behind the ingress gateway' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l requests -d 'Stop after this many requests (default 100 when --duration is not given)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l concurrency -d 'Requests in flight at once' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l duration -d 'Stop after this long (e.g. 30s, 5m); with --requests, whichever comes first' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand traffic" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l cluster -d 'EKS cluster name (default: the stack\'s cluster, `cluster.name` or the stack name)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l kubeconfig -d 'Kubeconfig file to write or merge into (default: the first entry of $KUBECONFIG, else ~/.kube/config)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l context -d 'Name of the context to write (default: the cluster\'s ARN, as the cluster entry)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand kubeconfig" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -f -a "appmesh" -d 'From AWS App Mesh: inventory, translate, apply, shift, rollback, remove'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and not __fish_seen_subcommand_from appmesh help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -f -a "inventory" -d 'Phase 1: list the mesh\'s App Mesh resources and its Kubernetes footprint (read-only)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -f -a "translate" -d 'Phase 2: write Istio manifests and MIGRATION-REPORT.md for the mesh into a directory'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -f -a "apply" -d 'Phases 2-3: apply the Istio resources, then move workloads one at a time to Istio'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -f -a "shift" -d 'Phase 4: send N% of each virtual service\'s traffic through the translated routes'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -f -a "rollback" -d 'Undo phases 3-4: weight 0 and App Mesh injection back on migrated workloads'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -f -a "remove" -d 'Phase 5: delete the mesh\'s App Mesh resources once no pod runs the App Mesh sidecar'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from appmesh" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "appmesh" -d 'From AWS App Mesh: inventory, translate, apply, shift, rollback, remove'
complete -c meshctl -n "__fish_meshctl_using_subcommand migrate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l config -d 'Stack configuration file' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l region -d 'AWS region (overrides `region` in the config file)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l profile -d 'AWS shared-config profile to use for credentials' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l output -d 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document' -r -f -a "text\t''
json\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l timeout -d 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l call-timeout -d 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK\'s retries' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l lock-timeout -d 'How long to wait for another run\'s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -s y -l yes -d 'Do not ask for confirmation (required for changes when there is no terminal)'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l dry-run -d 'Print the plan and make no change'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -s v -l verbose -d 'More detail in logs (-v, -vv)'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l no-color -d 'Plain output without colour (NO_COLOR is honoured too)'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l no-wait -d 'Create or delete resources but do not wait for them to become ready or gone'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l no-rollback -d 'Keep what a failed run created instead of rolling it back (for debugging)'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l force-unlock -d 'Remove a lock left behind by a run that no longer exists, then continue'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -l allow-region-change -d 'Run even though the stack\'s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "up" -d 'Create or update the whole stack, running independent steps concurrently'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "cluster" -d 'EKS cluster, VPC, node groups and OIDC provider'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "istio" -d 'Istio control plane and ingress gateway (Helm charts)'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "amp" -d 'Amazon Managed Service for Prometheus workspace and Istio rules'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "irsa" -d 'IAM roles for service accounts used by the collectors'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "prometheus" -d 'Prometheus remote-writing Istio metrics to AMP with SigV4'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "kiali" -d 'Kiali reading AMP through a SigV4 proxy (`kiali open` port-forwards to it)'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "grafana" -d 'Amazon Managed Grafana workspace, AMP data source and Istio dashboards'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "pagerduty" -d 'PagerDuty service and Grafana alerting to it (`pagerduty test` sends a test event)'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "cleanup" -d 'Remove everything this stack owns, found by tags and labels'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "status" -d 'Show what exists for this stack'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "doctor" -d 'Check that this machine and account are ready for `meshctl up`: config, region, credentials, helm, endpoints and the quotas that commonly block EKS. Changes nothing'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "verify" -d 'Prove the data path end to end (AMP query, Grafana data source and dashboards, PagerDuty contact point) and name the first broken link with its likely fix'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "init" -d 'Write a commented meshctl.yaml'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "token" -d 'Print an EKS bearer token as a client-go ExecCredential, for kubeconfig `exec` entries (what `aws eks get-token` prints; no AWS CLI needed and no network call)'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "traffic" -d 'Send HTTP load to the sample\'s product page (or --url) and summarise latency and errors'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "kubeconfig" -d 'Write or merge a kubeconfig context for the stack\'s EKS cluster whose user runs `meshctl token` (what `aws eks update-kubeconfig` does; no AWS CLI needed)'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "migrate" -d 'Migrate another service mesh to Istio (`migrate appmesh …`, docs/migrate-appmesh.md)'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from up cluster istio amp irsa prometheus kiali grafana pagerduty cleanup status doctor verify init token traffic kubeconfig migrate completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and __fish_seen_subcommand_from kiali" -f -a "open" -d 'Port-forward to Kiali through the API server and print the local URL (until Ctrl-C)'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and __fish_seen_subcommand_from pagerduty" -f -a "test" -d 'Send a test event through the Events API v2, report its dedup key, then resolve it'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and __fish_seen_subcommand_from migrate" -f -a "appmesh" -d 'From AWS App Mesh: inventory, translate, apply, shift, rollback, remove'
