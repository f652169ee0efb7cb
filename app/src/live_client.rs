//! The browser's side of a version's live stream (server-sent events). The
//! browser's `EventSource` retries a dropped connection by itself; when it
//! gives up (the server answered with an error while restarting), this opens
//! a new one after a pause, for as long as the page shows the version.

use std::{
    cell::{Cell, RefCell},
    rc::{Rc, Weak},
    time::Duration,
};

use lifecycle::VersionLive;
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{Event, EventSource, MessageEvent};

/// Pause before a new connection after the browser gave up on one.
const RETRY: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    Connecting,
    Live,
    Reconnecting,
    /// The server ended the stream because the caller's access is gone
    /// (signed out, revoked, disabled): no reconnecting.
    Ended,
}

impl StreamState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting => "reconnecting",
            Self::Ended => "ended",
        }
    }
}

type Callbacks = Vec<Closure<dyn FnMut(Event)>>;

struct Inner {
    url: String,
    on_version: Box<dyn Fn(VersionLive)>,
    on_state: Box<dyn Fn(StreamState)>,
    source: RefCell<Option<EventSource>>,
    // Kept alive as long as the source they are attached to.
    callbacks: RefCell<Callbacks>,
    closed: Cell<bool>,
}

/// An open subscription; `close` ends it for good.
pub struct LiveStream(Rc<Inner>);

impl LiveStream {
    pub fn close(&self) {
        self.0.closed.set(true);
        if let Some(source) = self.0.source.borrow_mut().take() {
            source.close();
        }
        self.0.callbacks.borrow_mut().clear();
    }
}

pub fn connect(
    url: String,
    on_version: impl Fn(VersionLive) + 'static,
    on_state: impl Fn(StreamState) + 'static,
) -> LiveStream {
    let inner = Rc::new(Inner {
        url,
        on_version: Box::new(on_version),
        on_state: Box::new(on_state),
        source: RefCell::new(None),
        callbacks: RefCell::new(Vec::new()),
        closed: Cell::new(false),
    });
    open(&inner);
    LiveStream(inner)
}

fn listener(
    inner: &Rc<Inner>,
    f: impl Fn(&Rc<Inner>, Event) + 'static,
) -> Closure<dyn FnMut(Event)> {
    let weak: Weak<Inner> = Rc::downgrade(inner);
    Closure::new(move |event: Event| {
        if let Some(inner) = weak.upgrade() {
            f(&inner, event);
        }
    })
}

fn open(inner: &Rc<Inner>) {
    if inner.closed.get() {
        return;
    }
    (inner.on_state)(StreamState::Connecting);
    let Ok(source) = EventSource::new(&inner.url) else {
        retry_later(inner);
        return;
    };
    let on_version = listener(inner, |inner, event| {
        let text = event
            .dyn_ref::<MessageEvent>()
            .and_then(|message| message.data().as_string());
        match text.map(|t| serde_json::from_str::<VersionLive>(&t)) {
            Some(Ok(live)) => (inner.on_version)(live),
            _ => leptos::logging::warn!("ignored a live event that did not parse"),
        }
    });
    let on_open = listener(inner, |inner, _| (inner.on_state)(StreamState::Live));
    let on_ended = listener(inner, |inner, _| {
        inner.closed.set(true);
        if let Some(source) = inner.source.borrow_mut().take() {
            source.close();
        }
        (inner.on_state)(StreamState::Ended);
    });
    let on_error = listener(inner, |inner, _| {
        (inner.on_state)(StreamState::Reconnecting);
        let gave_up = inner
            .source
            .borrow()
            .as_ref()
            .is_some_and(|s| s.ready_state() == EventSource::CLOSED);
        if gave_up {
            if let Some(source) = inner.source.borrow_mut().take() {
                source.close();
            }
            retry_later(inner);
        }
    });
    let attached = source
        .add_event_listener_with_callback("version", on_version.as_ref().unchecked_ref())
        .and_then(|_| {
            source.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref())
        })
        .and_then(|_| {
            source.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref())
        })
        .and_then(|_| {
            source.add_event_listener_with_callback("ended", on_ended.as_ref().unchecked_ref())
        });
    if attached.is_err() {
        source.close();
        retry_later(inner);
        return;
    }
    *inner.callbacks.borrow_mut() = vec![on_version, on_open, on_error, on_ended];
    *inner.source.borrow_mut() = Some(source);
}

fn retry_later(inner: &Rc<Inner>) {
    let weak = Rc::downgrade(inner);
    leptos::prelude::set_timeout(
        move || {
            if let Some(inner) = weak.upgrade() {
                open(&inner);
            }
        },
        RETRY,
    );
}
