//! What every modal dialog needs: Escape closes it, Tab and Shift+Tab stay
//! inside it, and focus goes back where it was once it closes.

use leptos::{ev::KeyboardEvent, html, prelude::*};

/// Until the calling component is cleaned up: Escape calls `close`, and Tab
/// cycles through the focusable elements of `container`. On the window, not
/// the dialog: keys count wherever focus is (it can fall to the page's body
/// when the focused button gets disabled).
pub fn keep_focus_inside(container: NodeRef<html::Div>, close: impl Fn() + Clone + 'static) {
    let keys = window_event_listener(leptos::ev::keydown, move |ev: KeyboardEvent| {
        match ev.key().as_str() {
            "Escape" => {
                ev.prevent_default();
                close();
            }
            "Tab" => {
                if let Some(el) = container.get_untracked() {
                    trap_focus(&ev, &el);
                }
            }
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());
}

/// Focuses an element once the current update is on screen (the page
/// behind a dialog is inert until the dialog is gone).
#[cfg(feature = "hydrate")]
pub fn focus_by_id(id: &str) {
    use wasm_bindgen::JsCast;
    let id = id.to_owned();
    request_animation_frame(move || {
        if let Some(el) = document()
            .get_element_by_id(&id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}

#[cfg(not(feature = "hydrate"))]
pub fn focus_by_id(_id: &str) {}

/// Keeps Tab and Shift+Tab inside the dialog.
#[cfg(feature = "hydrate")]
fn trap_focus(ev: &KeyboardEvent, container: &web_sys::HtmlDivElement) {
    use wasm_bindgen::JsCast;
    let Ok(list) = container.query_selector_all(
        "textarea, input:not([type=hidden]):not([disabled]), select, button:not([disabled]), a[href]",
    ) else {
        return;
    };
    let focusable: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.get(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else {
        return;
    };
    let active = document().active_element();
    let is = |el: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>())
    };
    let inside = focusable.iter().any(is);
    if ev.shift_key() && (is(first) || !inside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (is(last) || !inside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

#[cfg(not(feature = "hydrate"))]
fn trap_focus(_ev: &KeyboardEvent, _container: &leptos::web_sys::HtmlDivElement) {}
