//! One exec session over an upgraded connection: stdin, resize and close in; stdout,
//! stderr and the final status out; the process ended if the client goes away.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::ChildStdin;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, frame::coding::CloseCode};

use super::process::{self, Io, Pty, Spawned};
use super::{ExecParams, Protocol};

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;
/// How long output may still arrive after the process exited (a background job can hold
/// the pipes open forever; the kubelet does not wait for it either).
const DRAIN: Duration = Duration::from_secs(1);

fn framed(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

async fn pump(mut from: impl AsyncRead + Unpin, channel: u8, out: mpsc::Sender<Message>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if out.send(framed(channel, &buf[..n])).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn pump_pty(pty: Arc<Pty>, out: mpsc::Sender<Message>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match pty.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if out.send(framed(STDOUT, &buf[..n])).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Size {
    width: u16,
    height: u16,
}

enum Input {
    Pipe(Option<ChildStdin>),
    Pty(Arc<Pty>),
}

impl Input {
    async fn write(&mut self, data: &[u8]) {
        let failed = match self {
            Input::Pipe(Some(stdin)) => stdin.write_all(data).await.is_err(),
            Input::Pipe(None) => false,
            Input::Pty(p) => p.write_all(data).await.is_err(),
        };
        if failed && let Input::Pipe(s) = self {
            *s = None;
        }
    }

    fn close(&mut self) {
        if let Input::Pipe(s) = self {
            *s = None;
        }
    }

    fn resize(&self, payload: &[u8]) {
        if let (Input::Pty(p), Ok(size)) = (self, serde_json::from_slice::<Size>(payload)) {
            p.resize(size.width, size.height);
        }
    }
}

/// Reads client messages until the client goes away.
async fn input_loop<S>(stream: &mut S, mut input: Input, protocol: Protocol)
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(msg) = stream.next().await {
        let data = match msg {
            Ok(Message::Binary(b)) => b.to_vec(),
            Ok(Message::Text(t)) => t.as_bytes().to_vec(),
            Ok(Message::Close(_)) | Err(_) => return,
            Ok(_) => continue,
        };
        let Some((&channel, payload)) = data.split_first() else {
            continue;
        };
        match channel {
            STDIN => input.write(payload).await,
            RESIZE => input.resize(payload),
            CLOSE if protocol == Protocol::V5 && payload == [STDIN] => input.close(),
            _ => {}
        }
    }
}

/// Runs the process to its end; `None` when the client went away first.
async fn drive<S>(
    spawned: Spawned,
    stream: &mut S,
    out: &mpsc::Sender<Message>,
    protocol: Protocol,
    params: &ExecParams,
) -> Option<(serde_json::Value, i32)>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let Spawned {
        mut child,
        io,
        pgid,
    } = spawned;
    let mut pumps = Vec::new();
    let input = match io {
        Io::Pipes {
            stdin,
            stdout,
            stderr,
        } => {
            if let Some(o) = stdout {
                pumps.push(tokio::spawn(pump(o, STDOUT, out.clone())));
            }
            if let Some(e) = stderr {
                pumps.push(tokio::spawn(pump(e, STDERR, out.clone())));
            }
            Input::Pipe(stdin)
        }
        Io::Pty(pty) => {
            pumps.push(tokio::spawn(pump_pty(Arc::clone(&pty), out.clone())));
            Input::Pty(pty)
        }
    };
    let status = tokio::select! {
        status = child.wait() => status.ok(),
        () = input_loop(stream, input, protocol) => None,
    };
    let Some(status) = status else {
        // The client is gone (or waiting failed): end the whole session of the command.
        if pgid > 0 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = child.wait().await;
        for p in pumps {
            p.abort();
        }
        return None;
    };
    let deadline = tokio::time::Instant::now() + DRAIN;
    for mut p in pumps {
        if tokio::time::timeout_at(deadline, &mut p).await.is_err() {
            p.abort();
        }
    }
    Some((
        process::exit_status(&params.command, status),
        process::exit_code(status),
    ))
}

/// Serves one exec (or attach) over `upgraded` (already answered 101 with `protocol`);
/// the command's exit code when it ended. An attach's status is `Success` whatever the
/// code: the kubelet reports the container's end in the pod's status instead.
/// Told the process group of the command once it started.
pub type OnSpawn = Box<dyn FnOnce(i32) + Send>;

pub async fn run(
    upgraded: Upgraded,
    protocol: Protocol,
    params: &ExecParams,
    (role, id): (&tplab_sandbox::Role, &str),
    attach: bool,
    on_spawn: Option<OnSpawn>,
) -> Option<i32> {
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
    let (mut sink, mut stream) = ws.split();
    let (out, mut rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let last = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || last {
                break;
            }
        }
        let _ = sink.close().await;
    });
    // The server's first message: empty, on the lowest output channel.
    let first = if params.stdout || params.tty {
        STDOUT
    } else if params.stderr {
        STDERR
    } else {
        STATUS
    };
    let _ = out.send(framed(first, &[])).await;
    let ended = match process::spawn(params, role, id) {
        Err(message) => Some((process::start_failure(&message), 128)),
        Ok(spawned) => {
            if let Some(f) = on_spawn {
                f(spawned.pgid);
            }
            drive(spawned, &mut stream, &out, protocol, params).await
        }
    };
    let code = ended.as_ref().map(|(_, c)| *c);
    let status = ended.map(|(s, _)| {
        if attach {
            serde_json::json!({ "metadata": {}, "status": "Success" })
        } else {
            s
        }
    });
    if let Some(status) = status {
        let _ = out
            .send(framed(STATUS, status.to_string().as_bytes()))
            .await;
        let _ = out
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })))
            .await;
    }
    drop(out);
    let _ = writer.await;
    code
}
