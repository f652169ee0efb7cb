use leptos::prelude::*;
use leptos_meta::Title;
use lifecycle::Role;

use crate::{
    components::TokenTable,
    error::page_data,
    tokens::{RevokeToken, all_tokens},
    users::{
        ChangeUserRole, CreateUser, ResetUserPassword, RevokeUserSessions, SetUserDisabled,
        UserRow, list_users,
    },
};

/// `/users`, for admins: who can sign in, with which role, and the changes
/// an admin makes to them, each with a reason.
#[component]
pub fn Users() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let role = ServerAction::<ChangeUserRole>::new();
    let disabled = ServerAction::<SetUserDisabled>::new();
    let revoke = ServerAction::<RevokeUserSessions>::new();
    let password = ServerAction::<ResetUserPassword>::new();
    let revoke_token = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || {
            (
                revoke_token.version().get(),
                role.version().get(),
                disabled.version().get(),
            )
        },
        |_| page_data(all_tokens()),
    );
    // Any completed change reloads the list.
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                role.version().get(),
                disabled.version().get(),
                revoke.version().get(),
                password.version().get(),
            )
        },
        |_| page_data(list_users()),
    );
    let last_error = move || {
        [
            create.value().get().and_then(Result::err),
            role.value().get().and_then(Result::err),
            disabled.value().get().and_then(Result::err),
            revoke.value().get().and_then(Result::err),
            password.value().get().and_then(Result::err),
            revoke_token.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };

    view! {
        <Title text="Users"/>
        <section class="card">
            <h1>"Users"</h1>
            <div role="alert" class="form-error">{last_error}</div>
            <Suspense fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || users.get().map(|answer| match answer {
                    Ok(list) => view! { <UserTable list role disabled revoke password/> }.into_any(),
                    Err(error) => {
                                                view! { <p class="error" data-error="">{error.to_string()}</p> }.into_any()
                    }
                })}
            </Suspense>
        </section>
        <section class="card" aria-labelledby="all-tokens-heading">
            <h2 id="all-tokens-heading">"API tokens"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                {move || tokens.get().map(|answer| match answer {
                    Ok(list) => view! { <TokenTable list revoke=revoke_token show_owner=true/> }.into_any(),
                    // The users list above already says why.
                    Err(_) => ().into_any(),
                })}
            </Suspense>
        </section>
        <section class="card narrow-left" aria-labelledby="new-user-heading">
            <h2 id="new-user-heading">"Add a user"</h2>
            <ActionForm action=create attr:class="form">
                <label for="new-email">"Email"</label>
                <input id="new-email" name="email" type="email" required maxlength="254"/>
                <label for="new-role">"Role"</label>
                <RoleSelect id="new-role" selected=Role::Viewer/>
                <label for="new-password">"Password"</label>
                <input id="new-password" name="password" type="password" required minlength="12" maxlength="1024" autocomplete="new-password"/>
                <label for="new-reason">"Reason"</label>
                <input id="new-reason" name="reason" type="text" required maxlength="1000"/>
                <button type="submit" class="button">"Add user"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn RoleSelect(#[prop(into)] id: String, selected: Role) -> impl IntoView {
    view! {
        <select id=id name="role">
            {Role::ALL
                .into_iter()
                .map(|r| view! { <option value=r.as_str() selected=r == selected>{r.label()}</option> })
                .collect_view()}
        </select>
    }
}

#[component]
fn UserTable(
    list: Vec<UserRow>,
    role: ServerAction<ChangeUserRole>,
    disabled: ServerAction<SetUserDisabled>,
    revoke: ServerAction<RevokeUserSessions>,
    password: ServerAction<ResetUserPassword>,
) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="table">
                <thead>
                    <tr><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"State"</th><th scope="col">"Manage"</th></tr>
                </thead>
                <tbody>
                    {list.into_iter().map(|user| {
                        // Copy values only: the forms' children are re-runnable closures.
                        let uid = user.id;
                        let current_role = user.role;
                        let is_disabled = user.disabled;
                        view! {
                            <tr data-user=user.email.clone()>
                                <td>{user.email.clone()}</td>
                                <td data-role=user.role.as_str()>{user.role.label()}</td>
                                <td>{if user.disabled { "Disabled" } else { "Enabled" }}</td>
                                <td>
                                    <details>
                                        <summary>{format!("Manage {}", user.email)}</summary>
                                        <ActionForm action=role attr:class="form inline-grid">
                                            <input type="hidden" name="id" value=uid/>
                                            <label for=format!("u{uid}-role")>"Role"</label>
                                            <RoleSelect id=format!("u{uid}-role") selected=current_role/>
                                            <label for=format!("u{uid}-role-reason")>"Reason"</label>
                                            <input id=format!("u{uid}-role-reason") name="reason" type="text" required maxlength="1000"/>
                                            <button type="submit" class="button">"Change role"</button>
                                        </ActionForm>
                                        <ActionForm action=disabled attr:class="form inline-grid">
                                            <input type="hidden" name="id" value=uid/>
                                            <input type="hidden" name="disabled" value=(!is_disabled).to_string()/>
                                            <label for=format!("u{uid}-disable-reason")>"Reason"</label>
                                            <input id=format!("u{uid}-disable-reason") name="reason" type="text" required maxlength="1000"/>
                                            <button type="submit" class="button">{if is_disabled { "Enable" } else { "Disable" }}</button>
                                        </ActionForm>
                                        <ActionForm action=revoke attr:class="form inline-grid">
                                            <input type="hidden" name="id" value=uid/>
                                            <label for=format!("u{uid}-revoke-reason")>"Reason"</label>
                                            <input id=format!("u{uid}-revoke-reason") name="reason" type="text" required maxlength="1000"/>
                                            <button type="submit" class="button">"Revoke sessions"</button>
                                        </ActionForm>
                                        <ActionForm action=password attr:class="form inline-grid">
                                            <input type="hidden" name="id" value=uid/>
                                            <label for=format!("u{uid}-password")>"New password"</label>
                                            <input id=format!("u{uid}-password") name="password" type="password" required minlength="12" maxlength="1024" autocomplete="new-password"/>
                                            <label for=format!("u{uid}-password-reason")>"Reason"</label>
                                            <input id=format!("u{uid}-password-reason") name="reason" type="text" required maxlength="1000"/>
                                            <button type="submit" class="button">"Reset password"</button>
                                        </ActionForm>
                                    </details>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
