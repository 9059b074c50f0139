/**
 * The `--json` contract: the document each command prints, as types. scripts/schemas.mjs
 * generates a JSON Schema per document into schemas/ from these types (docs/json.md); the tests
 * validate real outputs against those files. `schemaVersion` changes when a document changes in a
 * way a reader could trip on (a key removed or retyped); new keys alone do not change it.
 */
import type {ConfigResult} from './config/describe.js'
import type {SshConfigResult} from './exec/ssh-config.js'
import type {ExecResult} from './exec/types.js'
import type {LsResult, ReapResult} from './project/fleet.js'
import type {ExtendResult, OperationResult, StatusResult} from './project/project.js'
import type {InstanceJson} from './project/types.js'
import type {ValidationResult} from './project/validate.js'
import type {WatchResult} from './project/watch.js'

export const SCHEMA_VERSION = 1

export interface Versioned {
  /** The version of this document's schema (schemas/*.json); 1 for now. */
  schemaVersion: 1
}

/** `status --json`. */
export type StatusDocument = Versioned & StatusResult
/** `status --watch --json`. */
export type WatchDocument = Versioned & WatchResult<InstanceJson>
/** create, start, stop, reboot, terminate, revert `--json`; a dry run of create adds `validation`. */
export type OperationDocument = Versioned & OperationResult & {validation?: ValidationResult}
/** `exec --json` and `put --json`. */
export type ExecDocument = Versioned & ExecResult
/** `ls --json`. */
export type LsDocument = Versioned & LsResult
/** `reap --json`. */
export type ReapDocument = Versioned & ReapResult
/** `extend --json`. */
export type ExtendDocument = Versioned & ExtendResult
/** `validate --json` (exit 2 when `ok` is false). */
export type ValidateDocument = Versioned & ValidationResult
/** `config --json`. */
export type ConfigDocument = Versioned & ConfigResult
/** `wolphin ssh-config --json`: the Host entries, the known_hosts text, and what had no entry. */
export type SshConfigDocument = Versioned & SshConfigResult

/** `init --json`. */
export type InitDocument = Versioned & {file: string; project: string; asked: boolean}

/** What every command prints under --json when it fails (exit 1, 2, 3 or 130). */
export type ErrorDocument = Versioned & {
  error: {
    /** Stable (docs/exit-codes.md): USAGE, CONFIG_INVALID, SELECTOR_INVALID, PARTIAL_FAILURE, INTERRUPTED... */
    code: string
    message: string
    exitCode: number
    /** PARTIAL_FAILURE: the targets that failed. */
    failures?: Array<{id: string; name?: string; reason: string}>
    /** INTERRUPTED: what was done and what was not. */
    done?: string[]
    notDone?: string[]
    /**
     * Instances a failed or interrupted command launched, or that appeared in the project while it
     * ran (a launch whose answer was lost may have gone through): they keep running, and billing.
     */
    launched?: string[]
  }
  /** PARTIAL_FAILURE: beside the error, the command's own document (what was done). */
  [key: string]: unknown
}

/** `doc` with `schemaVersion` first: every --json document goes through here (BaseCommand#logJson). */
export function versioned<T>(doc: T): T | (Versioned & T) {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return doc
  return {schemaVersion: SCHEMA_VERSION, ...doc} as Versioned & T
}
