
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'meshctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'meshctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'meshctl' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Create or update the whole stack, running independent steps concurrently')
            [CompletionResult]::new('cluster', 'cluster', [CompletionResultType]::ParameterValue, 'EKS cluster, VPC, node groups and OIDC provider')
            [CompletionResult]::new('istio', 'istio', [CompletionResultType]::ParameterValue, 'Istio control plane and ingress gateway (Helm charts)')
            [CompletionResult]::new('amp', 'amp', [CompletionResultType]::ParameterValue, 'Amazon Managed Service for Prometheus workspace and Istio rules')
            [CompletionResult]::new('irsa', 'irsa', [CompletionResultType]::ParameterValue, 'IAM roles for service accounts used by the collectors')
            [CompletionResult]::new('prometheus', 'prometheus', [CompletionResultType]::ParameterValue, 'Prometheus remote-writing Istio metrics to AMP with SigV4')
            [CompletionResult]::new('kiali', 'kiali', [CompletionResultType]::ParameterValue, 'Kiali reading AMP through a SigV4 proxy (`kiali open` port-forwards to it)')
            [CompletionResult]::new('grafana', 'grafana', [CompletionResultType]::ParameterValue, 'Amazon Managed Grafana workspace, AMP data source and Istio dashboards')
            [CompletionResult]::new('pagerduty', 'pagerduty', [CompletionResultType]::ParameterValue, 'PagerDuty service and Grafana alerting to it (`pagerduty test` sends a test event)')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Remove everything this stack owns, found by tags and labels')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what exists for this stack')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check that this machine and account are ready for `meshctl up`: config, region, credentials, helm, endpoints and the quotas that commonly block EKS. Changes nothing')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove the data path end to end (AMP query, Grafana data source and dashboards, PagerDuty contact point) and name the first broken link with its likely fix')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented meshctl.yaml')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print an EKS bearer token as a client-go ExecCredential, for kubeconfig `exec` entries (what `aws eks get-token` prints; no AWS CLI needed and no network call)')
            [CompletionResult]::new('traffic', 'traffic', [CompletionResultType]::ParameterValue, 'Send HTTP load to the sample''s product page (or --url) and summarise latency and errors')
            [CompletionResult]::new('kubeconfig', 'kubeconfig', [CompletionResultType]::ParameterValue, 'Write or merge a kubeconfig context for the stack''s EKS cluster whose user runs `meshctl token` (what `aws eks update-kubeconfig` does; no AWS CLI needed)')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Migrate another service mesh to Istio (`migrate appmesh …`, docs/migrate-appmesh.md)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;up' {
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Run only these steps (comma separated), e.g. `--only amp,grafana`')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;cluster' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;istio' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;amp' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;irsa' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;prometheus' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;kiali' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('open', 'open', [CompletionResultType]::ParameterValue, 'Port-forward to Kiali through the API server and print the local URL (until Ctrl-C)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;kiali;open' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Local port to listen on (127.0.0.1)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;kiali;help' {
            [CompletionResult]::new('open', 'open', [CompletionResultType]::ParameterValue, 'Port-forward to Kiali through the API server and print the local URL (until Ctrl-C)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;kiali;help;open' {
            break
        }
        'meshctl;kiali;help;help' {
            break
        }
        'meshctl;grafana' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;pagerduty' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Send a test event through the Events API v2, report its dedup key, then resolve it')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;pagerduty;test' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;pagerduty;help' {
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Send a test event through the Events API v2, report its dedup key, then resolve it')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;pagerduty;help;test' {
            break
        }
        'meshctl;pagerduty;help;help' {
            break
        }
        'meshctl;cleanup' {
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Clean up only these steps (comma separated), e.g. `--only amp`')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;status' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;doctor' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;verify' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;init' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Stack name (asked on a terminal when omitted)')
            [CompletionResult]::new('--cluster-name', '--cluster-name', [CompletionResultType]::ParameterName, 'EKS cluster name, when it differs from the stack name (required with --adopt-cluster)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('--adopt-cluster', '--adopt-cluster', [CompletionResultType]::ParameterName, 'Adopt an existing EKS cluster instead of creating one (`cluster.create: false`)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing file')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;token' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'Name of the EKS cluster the token is for (the API server checks it)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;traffic' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL to load; default: the Bookinfo product page behind the ingress gateway')
            [CompletionResult]::new('--requests', '--requests', [CompletionResultType]::ParameterName, 'Stop after this many requests (default 100 when --duration is not given)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this long (e.g. 30s, 5m); with --requests, whichever comes first')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;kubeconfig' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'EKS cluster name (default: the stack''s cluster, `cluster.name` or the stack name)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig file to write or merge into (default: the first entry of $KUBECONFIG, else ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Name of the context to write (default: the cluster''s ARN, as the cluster entry)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;migrate' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('appmesh', 'appmesh', [CompletionResultType]::ParameterValue, 'From AWS App Mesh: inventory, translate, apply, shift, rollback, remove')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;migrate;appmesh' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('inventory', 'inventory', [CompletionResultType]::ParameterValue, 'Phase 1: list the mesh''s App Mesh resources and its Kubernetes footprint (read-only)')
            [CompletionResult]::new('translate', 'translate', [CompletionResultType]::ParameterValue, 'Phase 2: write Istio manifests and MIGRATION-REPORT.md for the mesh into a directory')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Phases 2-3: apply the Istio resources, then move workloads one at a time to Istio')
            [CompletionResult]::new('shift', 'shift', [CompletionResultType]::ParameterValue, 'Phase 4: send N% of each virtual service''s traffic through the translated routes')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Undo phases 3-4: weight 0 and App Mesh injection back on migrated workloads')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Phase 5: delete the mesh''s App Mesh resources once no pod runs the App Mesh sidecar')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;migrate;appmesh;inventory' {
            [CompletionResult]::new('--mesh', '--mesh', [CompletionResultType]::ParameterName, 'The App Mesh mesh name')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;migrate;appmesh;translate' {
            [CompletionResult]::new('--mesh', '--mesh', [CompletionResultType]::ParameterName, 'The App Mesh mesh name')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory to write the manifests and the report into')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the generated Istio objects')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Write into a directory that is not empty (files of the same name are replaced)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;migrate;appmesh;apply' {
            [CompletionResult]::new('--mesh', '--mesh', [CompletionResultType]::ParameterName, 'The App Mesh mesh name')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the workloads (Deployments) to migrate and of the Istio objects')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;migrate;appmesh;shift' {
            [CompletionResult]::new('--mesh', '--mesh', [CompletionResultType]::ParameterName, 'The App Mesh mesh name')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace given to `apply`')
            [CompletionResult]::new('--weight', '--weight', [CompletionResultType]::ParameterName, 'Percentage (0-100) of traffic that follows the translated routes')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;migrate;appmesh;rollback' {
            [CompletionResult]::new('--mesh', '--mesh', [CompletionResultType]::ParameterName, 'The App Mesh mesh name')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the workloads (Deployments) to migrate and of the Istio objects')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;migrate;appmesh;remove' {
            [CompletionResult]::new('--mesh', '--mesh', [CompletionResultType]::ParameterName, 'The App Mesh mesh name')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;migrate;appmesh;help' {
            [CompletionResult]::new('inventory', 'inventory', [CompletionResultType]::ParameterValue, 'Phase 1: list the mesh''s App Mesh resources and its Kubernetes footprint (read-only)')
            [CompletionResult]::new('translate', 'translate', [CompletionResultType]::ParameterValue, 'Phase 2: write Istio manifests and MIGRATION-REPORT.md for the mesh into a directory')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Phases 2-3: apply the Istio resources, then move workloads one at a time to Istio')
            [CompletionResult]::new('shift', 'shift', [CompletionResultType]::ParameterValue, 'Phase 4: send N% of each virtual service''s traffic through the translated routes')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Undo phases 3-4: weight 0 and App Mesh injection back on migrated workloads')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Phase 5: delete the mesh''s App Mesh resources once no pod runs the App Mesh sidecar')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;migrate;appmesh;help;inventory' {
            break
        }
        'meshctl;migrate;appmesh;help;translate' {
            break
        }
        'meshctl;migrate;appmesh;help;apply' {
            break
        }
        'meshctl;migrate;appmesh;help;shift' {
            break
        }
        'meshctl;migrate;appmesh;help;rollback' {
            break
        }
        'meshctl;migrate;appmesh;help;remove' {
            break
        }
        'meshctl;migrate;appmesh;help;help' {
            break
        }
        'meshctl;migrate;help' {
            [CompletionResult]::new('appmesh', 'appmesh', [CompletionResultType]::ParameterValue, 'From AWS App Mesh: inventory, translate, apply, shift, rollback, remove')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;migrate;help;appmesh' {
            [CompletionResult]::new('inventory', 'inventory', [CompletionResultType]::ParameterValue, 'Phase 1: list the mesh''s App Mesh resources and its Kubernetes footprint (read-only)')
            [CompletionResult]::new('translate', 'translate', [CompletionResultType]::ParameterValue, 'Phase 2: write Istio manifests and MIGRATION-REPORT.md for the mesh into a directory')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Phases 2-3: apply the Istio resources, then move workloads one at a time to Istio')
            [CompletionResult]::new('shift', 'shift', [CompletionResultType]::ParameterValue, 'Phase 4: send N% of each virtual service''s traffic through the translated routes')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Undo phases 3-4: weight 0 and App Mesh injection back on migrated workloads')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Phase 5: delete the mesh''s App Mesh resources once no pod runs the App Mesh sidecar')
            break
        }
        'meshctl;migrate;help;appmesh;inventory' {
            break
        }
        'meshctl;migrate;help;appmesh;translate' {
            break
        }
        'meshctl;migrate;help;appmesh;apply' {
            break
        }
        'meshctl;migrate;help;appmesh;shift' {
            break
        }
        'meshctl;migrate;help;appmesh;rollback' {
            break
        }
        'meshctl;migrate;help;appmesh;remove' {
            break
        }
        'meshctl;migrate;help;help' {
            break
        }
        'meshctl;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Stack configuration file')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region (overrides `region` in the config file)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS shared-config profile to use for credentials')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format. With `json`, progress goes to stderr and stdout holds one JSON document')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at least 10s)')
            [CompletionResult]::new('--call-timeout', '--call-timeout', [CompletionResultType]::ParameterName, 'Longest time one attempt of one AWS call may take (connecting: at most 10s of it); an endpoint that does not answer in time fails the call after the SDK''s retries')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another run''s lock on the stack before giving up (e.g. 5m; default 0s: fail at once)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required for changes when there is no terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan and make no change')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail in logs (-v, -vv)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain output without colour (NO_COLOR is honoured too)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Create or delete resources but do not wait for them to become ready or gone')
            [CompletionResult]::new('--no-rollback', '--no-rollback', [CompletionResultType]::ParameterName, 'Keep what a failed run created instead of rolling it back (for debugging)')
            [CompletionResult]::new('--force-unlock', '--force-unlock', [CompletionResultType]::ParameterName, 'Remove a lock left behind by a run that no longer exists, then continue')
            [CompletionResult]::new('--allow-region-change', '--allow-region-change', [CompletionResultType]::ParameterName, 'Run even though the stack''s state says its resources live in another region or account than this command would use (otherwise meshctl stops, exit code 2)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;help' {
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Create or update the whole stack, running independent steps concurrently')
            [CompletionResult]::new('cluster', 'cluster', [CompletionResultType]::ParameterValue, 'EKS cluster, VPC, node groups and OIDC provider')
            [CompletionResult]::new('istio', 'istio', [CompletionResultType]::ParameterValue, 'Istio control plane and ingress gateway (Helm charts)')
            [CompletionResult]::new('amp', 'amp', [CompletionResultType]::ParameterValue, 'Amazon Managed Service for Prometheus workspace and Istio rules')
            [CompletionResult]::new('irsa', 'irsa', [CompletionResultType]::ParameterValue, 'IAM roles for service accounts used by the collectors')
            [CompletionResult]::new('prometheus', 'prometheus', [CompletionResultType]::ParameterValue, 'Prometheus remote-writing Istio metrics to AMP with SigV4')
            [CompletionResult]::new('kiali', 'kiali', [CompletionResultType]::ParameterValue, 'Kiali reading AMP through a SigV4 proxy (`kiali open` port-forwards to it)')
            [CompletionResult]::new('grafana', 'grafana', [CompletionResultType]::ParameterValue, 'Amazon Managed Grafana workspace, AMP data source and Istio dashboards')
            [CompletionResult]::new('pagerduty', 'pagerduty', [CompletionResultType]::ParameterValue, 'PagerDuty service and Grafana alerting to it (`pagerduty test` sends a test event)')
            [CompletionResult]::new('cleanup', 'cleanup', [CompletionResultType]::ParameterValue, 'Remove everything this stack owns, found by tags and labels')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what exists for this stack')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check that this machine and account are ready for `meshctl up`: config, region, credentials, helm, endpoints and the quotas that commonly block EKS. Changes nothing')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove the data path end to end (AMP query, Grafana data source and dashboards, PagerDuty contact point) and name the first broken link with its likely fix')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented meshctl.yaml')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print an EKS bearer token as a client-go ExecCredential, for kubeconfig `exec` entries (what `aws eks get-token` prints; no AWS CLI needed and no network call)')
            [CompletionResult]::new('traffic', 'traffic', [CompletionResultType]::ParameterValue, 'Send HTTP load to the sample''s product page (or --url) and summarise latency and errors')
            [CompletionResult]::new('kubeconfig', 'kubeconfig', [CompletionResultType]::ParameterValue, 'Write or merge a kubeconfig context for the stack''s EKS cluster whose user runs `meshctl token` (what `aws eks update-kubeconfig` does; no AWS CLI needed)')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Migrate another service mesh to Istio (`migrate appmesh …`, docs/migrate-appmesh.md)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;help;up' {
            break
        }
        'meshctl;help;cluster' {
            break
        }
        'meshctl;help;istio' {
            break
        }
        'meshctl;help;amp' {
            break
        }
        'meshctl;help;irsa' {
            break
        }
        'meshctl;help;prometheus' {
            break
        }
        'meshctl;help;kiali' {
            [CompletionResult]::new('open', 'open', [CompletionResultType]::ParameterValue, 'Port-forward to Kiali through the API server and print the local URL (until Ctrl-C)')
            break
        }
        'meshctl;help;kiali;open' {
            break
        }
        'meshctl;help;grafana' {
            break
        }
        'meshctl;help;pagerduty' {
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Send a test event through the Events API v2, report its dedup key, then resolve it')
            break
        }
        'meshctl;help;pagerduty;test' {
            break
        }
        'meshctl;help;cleanup' {
            break
        }
        'meshctl;help;status' {
            break
        }
        'meshctl;help;doctor' {
            break
        }
        'meshctl;help;verify' {
            break
        }
        'meshctl;help;init' {
            break
        }
        'meshctl;help;token' {
            break
        }
        'meshctl;help;traffic' {
            break
        }
        'meshctl;help;kubeconfig' {
            break
        }
        'meshctl;help;migrate' {
            [CompletionResult]::new('appmesh', 'appmesh', [CompletionResultType]::ParameterValue, 'From AWS App Mesh: inventory, translate, apply, shift, rollback, remove')
            break
        }
        'meshctl;help;migrate;appmesh' {
            [CompletionResult]::new('inventory', 'inventory', [CompletionResultType]::ParameterValue, 'Phase 1: list the mesh''s App Mesh resources and its Kubernetes footprint (read-only)')
            [CompletionResult]::new('translate', 'translate', [CompletionResultType]::ParameterValue, 'Phase 2: write Istio manifests and MIGRATION-REPORT.md for the mesh into a directory')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Phases 2-3: apply the Istio resources, then move workloads one at a time to Istio')
            [CompletionResult]::new('shift', 'shift', [CompletionResultType]::ParameterValue, 'Phase 4: send N% of each virtual service''s traffic through the translated routes')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Undo phases 3-4: weight 0 and App Mesh injection back on migrated workloads')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Phase 5: delete the mesh''s App Mesh resources once no pod runs the App Mesh sidecar')
            break
        }
        'meshctl;help;migrate;appmesh;inventory' {
            break
        }
        'meshctl;help;migrate;appmesh;translate' {
            break
        }
        'meshctl;help;migrate;appmesh;apply' {
            break
        }
        'meshctl;help;migrate;appmesh;shift' {
            break
        }
        'meshctl;help;migrate;appmesh;rollback' {
            break
        }
        'meshctl;help;migrate;appmesh;remove' {
            break
        }
        'meshctl;help;completions' {
            break
        }
        'meshctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
