//! The fields of a runtime's settings, the same on the "New runtime" form
//! and on the settings page (read-only there for managers and viewers:
//! the fieldset is disabled and nothing is submitted).

use leptos::prelude::*;

use crate::runtimes::RuntimeFields;

#[component]
pub fn RuntimeFieldset(fields: RuntimeFields, #[prop(optional)] read_only: bool) -> impl IntoView {
    let RuntimeFields {
        description,
        base_domain,
        host,
        ingress_class,
        tls,
        tls_secret,
        tls_issuer,
        annotations,
        pull_secrets,
        pod_security,
        workloads,
        approval,
        approval_actions,
        approvals,
        approver_roles,
        open_hours,
        windows,
        stop_unpublished_after,
    } = fields;
    let tls_option = move |value: &'static str, label: &'static str| {
        view! { <option value=value selected=tls == value>{label}</option> }
    };
    let security_option = move |value: &'static str, label: &'static str| {
        view! { <option value=value selected=pod_security == value>{label}</option> }
    };
    view! {
        <fieldset class="form settings-fields" disabled=read_only>
            <legend>"Where its traffic is served"</legend>
            <label for="rt-description">"Description"</label>
            <input id="rt-description" name="fields[description]" type="text" maxlength="500" value=description/>
            <label for="rt-base-domain">"Base domain"</label>
            <input id="rt-base-domain" name="fields[base_domain]" type="text" maxlength="253" value=base_domain
                aria-describedby="rt-base-domain-hint"/>
            <p id="rt-base-domain-hint" class="hint muted">"Versions are served at <runtime>.<base domain> unless a host is given."</p>
            <label for="rt-host">"Host"</label>
            <input id="rt-host" name="fields[host]" type="text" maxlength="253" value=host placeholder="app.example.com"/>
            <label for="rt-ingress-class">"Ingress class"</label>
            <input id="rt-ingress-class" name="fields[ingress_class]" type="text" maxlength="253" value=ingress_class
                aria-describedby="rt-ingress-class-hint"/>
            <p id="rt-ingress-class-hint" class="hint muted">"The IngressClass whose controller serves it; empty leaves it to the cluster's default."</p>
            <label for="rt-tls">"TLS"</label>
            <select id="rt-tls" name="fields[tls]">
                {tls_option("none", "None (plain HTTP to the cluster)")}
                {tls_option("secret", "An existing Secret")}
                {tls_option("issuer", "A cert-manager Issuer")}
                {tls_option("cluster_issuer", "A cert-manager ClusterIssuer")}
            </select>
            <label for="rt-tls-secret">"TLS secret"</label>
            <input id="rt-tls-secret" name="fields[tls_secret]" type="text" maxlength="253" value=tls_secret/>
            <label for="rt-tls-issuer">"Certificate issuer"</label>
            <input id="rt-tls-issuer" name="fields[tls_issuer]" type="text" maxlength="253" value=tls_issuer/>
            <label for="rt-annotations">"Ingress annotations"</label>
            <textarea id="rt-annotations" name="fields[annotations]" rows="3" spellcheck="false" class="code-input"
                aria-describedby="rt-annotations-hint" prop:value=annotations></textarea>
            <p id="rt-annotations-hint" class="hint muted">"One key=value per line."</p>
        </fieldset>
        <fieldset class="form settings-fields" disabled=read_only>
            <legend>"What its versions' pods get"</legend>
            <p class="hint muted">"Workload settings take effect at each version's next start."</p>
            <label for="rt-pull-secrets">"Image pull secrets"</label>
            <input id="rt-pull-secrets" name="fields[pull_secrets]" type="text" maxlength="4000" value=pull_secrets
                aria-describedby="rt-pull-secrets-hint"/>
            <p id="rt-pull-secrets-hint" class="hint muted">"Secrets in the runtime's namespace, separated by commas."</p>
            <label for="rt-pod-security">"Pod security"</label>
            <select id="rt-pod-security" name="fields[pod_security]">
                {security_option("restricted", "Restricted (non-root, read-only root filesystem)")}
                {security_option("relaxed", "Relaxed (the image's own user, writable root)")}
            </select>
            <label for="rt-workloads">"Workload defaults (YAML)"</label>
            <textarea id="rt-workloads" name="fields[workloads]" rows="8" spellcheck="false" class="code-input"
                aria-describedby="rt-workloads-hint" prop:value=workloads></textarea>
            <p id="rt-workloads-hint" class="hint muted">
                "default_resources (requests, limits), max_resources (cpu, memory) and placements (hardware classes by name, each with node_selector and tolerations)."
            </p>
        </fieldset>
        <fieldset class="form settings-fields" disabled=read_only>
            <legend>"Change control"</legend>
            <label class="checkbox">
                <input type="checkbox" name="fields[approval]" value="on" checked=approval == "on"/>
                " Actions need approval (four eyes)"
            </label>
            <label for="rt-approval-actions">"Actions that need approval"</label>
            <input id="rt-approval-actions" name="fields[approval_actions]" type="text" maxlength="100" value=approval_actions
                aria-describedby="rt-approval-actions-hint"/>
            <p id="rt-approval-actions-hint" class="hint muted">"Any of start, stop, publish (rollbacks too), unpublish, separated by commas."</p>
            <label for="rt-approvals">"Approvals needed"</label>
            <input id="rt-approvals" name="fields[approvals]" type="number" min="1" max="5" value=approvals/>
            <label for="rt-approver-roles">"Roles that may approve"</label>
            <input id="rt-approver-roles" name="fields[approver_roles]" type="text" maxlength="100" value=approver_roles/>
            <label for="rt-open-hours">"Requests stay open (hours)"</label>
            <input id="rt-open-hours" name="fields[open_hours]" type="number" min="1" max="720" value=open_hours/>
            <label for="rt-ttl">"Stop started, unpublished versions after (hours)"</label>
            <input id="rt-ttl" name="fields[stop_unpublished_after]" type="number" min="1" max="8760"
                value=stop_unpublished_after aria-describedby="rt-ttl-hint"/>
            <p id="rt-ttl-hint" class="hint muted">"Empty: they keep running, as warm standbys for a rollback."</p>
            <label for="rt-windows">"Change windows and freezes (YAML)"</label>
            <textarea id="rt-windows" name="fields[windows]" rows="8" spellcheck="false" class="code-input"
                aria-describedby="rt-windows-hint" prop:value=windows></textarea>
            <p id="rt-windows-hint" class="hint muted">
                "Empty: actions at any time. For example: "
                <code>"actions: [publish, unpublish]"</code> ", "
                <code>"managers_may_override: false"</code> ", and "
                <code>"windows:"</code> " with entries of "
                <code>"kind: allow"</code> " (title, days: [mon, tue], from: \"09:00\", to: \"17:00\", time_zone: Europe/Madrid), "
                <code>"kind: freeze"</code> " (title, from and to as RFC 3339 instants) or "
                <code>"kind: weekly_freeze"</code> " (like allow). Admins, or managers if allowed, can override with a reason."
            </p>
        </fieldset>
    }
}
