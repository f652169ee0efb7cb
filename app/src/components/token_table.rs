//! A list of API tokens with a Revoke button each: the user's own on
//! `/profile`, everyone's (with the owner) on `/users`.

use leptos::prelude::*;

use super::status::short_time;
use crate::tokens::{RevokeToken, TokenRow};

#[component]
pub fn TokenTable(
    list: Vec<TokenRow>,
    revoke: ServerAction<RevokeToken>,
    /// Show whose each token is (the admins' list).
    show_owner: bool,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted" data-tokens-empty="">"No API tokens."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="table" data-tokens="">
                <thead>
                    <tr>
                        {show_owner.then(|| view! { <th scope="col">"Owner"</th> })}
                        <th scope="col">"Name"</th>
                        <th scope="col">"Scope"</th>
                        <th scope="col">"Token"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Revoke"</th>
                    </tr>
                </thead>
                <tbody>
                    {list.into_iter().map(|token| {
                        let id = token.id;
                        let active = token.state == "active";
                        let revoke_label = format!("Revoke {}", token.name);
                        let last_used = token.last_used_at.as_deref().map_or_else(
                            || "never".to_owned(),
                            |at| match &token.last_address {
                                Some(address) => format!("{} from {address}", short_time(at)),
                                None => short_time(at),
                            },
                        );
                        view! {
                            <tr data-token=token.name.clone() data-token-state=token.state.clone()>
                                {show_owner.then(|| view! { <td>{token.owner.clone()}</td> })}
                                <td>{token.name.clone()}</td>
                                <td data-token-scope=token.scope.as_str()>{token.scope.label()}</td>
                                <td><code>{format!("{}…", token.prefix)}</code></td>
                                <td>{short_time(&token.created_at)}</td>
                                <td>{short_time(&token.expires_at)}</td>
                                <td>{last_used}</td>
                                <td>{token.state.clone()}</td>
                                <td>
                                    {active.then(move || view! {
                                        <ActionForm action=revoke attr:class="inline-form">
                                            <input type="hidden" name="id" value=id/>
                                            <button type="submit" class="button">{revoke_label}</button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
