// SPDX-License-Identifier: MIT
// rooms_forms.jsx — the Rooms page's two forms: create a room (POST /room
// with a RoomConfig) and add a peer (POST /room/:id/peer). herald checks
// every value; a refusal's own message ("Expected webhookUrl to be valid
// URL, got: …") is shown next to the field it names (aria-invalid,
// aria-describedby, role=alert), anything else above the button. The
// browser validates nothing itself (no type=url), so the user always sees
// the API's words.
import { useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';

const ROOM_TYPES = ['conference', 'full_feature', 'audio_only', 'broadcaster', 'livestream', 'audio_only_livestream'];

// Which field an API message is about: the key of "Expected <key> to be …"
// (not any word further on: the message echoes the user's value), roomId
// for "Cannot add room with id … - room already exists", and so on.
function fieldOf(message, fields) {
  const named = /^Expected (\w+) /.exec(message);
  if (named && fields.includes(named[1])) return named[1];
  if (/room with id/i.test(message) && fields.includes('roomId')) return 'roomId';
  if (/^Invalid peer type/i.test(message) && fields.includes('type')) return 'type';
  if (/metadata/i.test(message) && fields.includes('metadata')) return 'metadata';
  return '';
}

// One labelled control with its error slot below it.
function Field({ id, label, error, help, children }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children({ id, 'aria-invalid': error ? 'true' : 'false', 'aria-describedby': `${id}-error${help ? ` ${id}-help` : ''}` })}
      {help ? <p id={`${id}-help`} class="help">{help}</p> : null}
      <p id={`${id}-error`} class="error" role="alert">{error}</p>
    </div>
  );
}

// Submits body() with POST path; a 400's message goes to its field.
function useApiForm(path, fields, onDone, onUnauthorized) {
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  async function submit(body) {
    setBusy(true);
    setErrors({});
    try {
      onDone(await api(path, { method: 'POST', body }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return onUnauthorized(`Signed out: ${e.message}`);
      const f = e instanceof ApiError ? fieldOf(e.message, fields) : '';
      setErrors({ [f || 'form']: e.message });
    } finally {
      setBusy(false);
    }
  }
  return { errors, setErrors, busy, submit };
}

export function CreateRoom({ onCreated, onUnauthorized }) {
  const empty = { roomId: '', maxPeers: '', roomType: '', videoCodec: '', webhookUrl: '' };
  const [v, setV] = useState(empty);
  const form = useApiForm('/room', Object.keys(empty), (res) => { setV(empty); onCreated(res.data.room); }, onUnauthorized);
  const set = (k) => (e) => setV({ ...v, [k]: e.currentTarget.value });
  function onSubmit(e) {
    e.preventDefault();
    const body = {};
    for (const [k, val] of Object.entries(v)) if (val.trim() !== '') body[k] = val.trim();
    if (body.maxPeers !== undefined && /^-?\d+$/.test(body.maxPeers)) body.maxPeers = Number(body.maxPeers);
    form.submit(body);
  }
  const err = form.errors;
  return (
    <form class="card create-room" onSubmit={onSubmit} aria-labelledby="create-room-title" noValidate>
      <h3 id="create-room-title">Create a room</h3>
      <div class="fields">
        <Field id="room-id" label="Room id (optional)" error={err.roomId} help="A UUID when empty.">
          {(a) => <input {...a} value={v.roomId} onInput={set('roomId')} autocomplete="off" />}</Field>
        <Field id="room-max-peers" label="Max peers (optional)" error={err.maxPeers}>
          {(a) => <input {...a} inputMode="numeric" value={v.maxPeers} onInput={set('maxPeers')} autocomplete="off" />}</Field>
        <Field id="room-type" label="Room type" error={err.roomType}>
          {(a) => <select {...a} value={v.roomType} onChange={set('roomType')}>
            <option value="">default (conference)</option>
            {ROOM_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>}</Field>
        <Field id="room-video-codec" label="Video codec" error={err.videoCodec}>
          {(a) => <select {...a} value={v.videoCodec} onChange={set('videoCodec')}>
            <option value="">any</option><option value="h264">h264</option><option value="vp8">vp8</option>
          </select>}</Field>
        <Field id="room-webhook-url" label="Webhook URL (optional)" error={err.webhookUrl}>
          {(a) => <input {...a} inputMode="url" value={v.webhookUrl} onInput={set('webhookUrl')} autocomplete="off" />}</Field>
      </div>
      <p class="error" role="alert">{err.form}</p>
      <button type="submit" disabled={form.busy}>{form.busy ? 'Creating…' : 'Create room'}</button>
    </form>
  );
}

export function AddPeer({ room, onAdded, onUnauthorized }) {
  const [type, setType] = useState('webrtc');
  const [metadata, setMetadata] = useState('');
  const path = `/room/${encodeURIComponent(room.id)}/peer`;
  const details = useRef(null);
  const added = (res) => {
    setMetadata('');
    if (details.current) details.current.open = false; // the token box takes the focus
    onAdded(res.data);
  };
  const form = useApiForm(path, ['type', 'metadata'], added, onUnauthorized);
  const id = (s) => `peer-${s}-${room.id}`;
  function onSubmit(e) {
    e.preventDefault();
    const body = { type };
    if (metadata.trim() !== '') {
      try {
        body.options = { metadata: JSON.parse(metadata) };
      } catch (err) {
        form.setErrors({ metadata: `Metadata is not valid JSON: ${err.message}` });
        return;
      }
    }
    form.submit(body);
  }
  const err = form.errors;
  return (
    <details class="add-peer" ref={details}>
      <summary>Add a peer to {room.id}</summary>
      <form onSubmit={onSubmit} aria-label={`Add a peer to room ${room.id}`} noValidate>
        <div class="fields">
          <Field id={id('type')} label="Peer type" error={err.type}>
            {(a) => <select {...a} value={type} onChange={(e) => setType(e.currentTarget.value)}>
              <option value="webrtc">webrtc</option><option value="agent">agent</option>
            </select>}</Field>
          <Field id={id('metadata')} label="Metadata (JSON, optional)" error={err.metadata}>
            {(a) => <textarea {...a} rows={2} value={metadata} onInput={(e) => setMetadata(e.currentTarget.value)} />}</Field>
        </div>
        <p class="error" role="alert">{err.form}</p>
        <button type="submit" disabled={form.busy}>{form.busy ? 'Adding…' : 'Add peer'}</button>
      </form>
    </details>
  );
}
