/**
 * A MIME user data read as cloud-init reads it: Python's email parser (cloud-init's own), each
 * part's payload decoded (Content-Transfer-Encoding) to bytes.
 */
import {spawnSync} from 'node:child_process'

export interface UserDataPart {
  ctype: string
  filename: string | null
  payload: Buffer
}

export function cloudInitParts(text: string): UserDataPart[] {
  const py = `
import base64, email, json, sys
msg = email.message_from_string(sys.stdin.read())
out = []
for part in msg.walk():
    if part.is_multipart():
        continue
    out.append({"ctype": part.get_content_type(), "filename": part.get_filename(),
                "payload": base64.b64encode(part.get_payload(decode=True)).decode()})
print(json.dumps(out))
`
  const r = spawnSync('python3', ['-c', py], {input: text, encoding: 'utf8', timeout: 20_000})
  if (r.status !== 0) throw new Error(`python3 could not read the user data: ${r.stderr || r.error?.message}`)
  return (JSON.parse(r.stdout) as Array<Omit<UserDataPart, 'payload'> & {payload: string}>).map((p) => ({
    ...p,
    payload: Buffer.from(p.payload, 'base64'),
  }))
}
