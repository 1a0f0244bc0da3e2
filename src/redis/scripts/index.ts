/**
 * The Lua scripts, one `.lua` file each, compiled once at load from their declarations (see
 * declare.ts). The circuit scripts (read, acquire, report, settle, command, inspect) run after
 * the prelude (prelude.lua and its parts in prelude/) and make every decision of a shared
 * circuit; the others keep the change feed, the trial leases, the history and the heartbeats,
 * and take no part in a decision.
 */
import { compile, type Prelude, type Script } from './declare.js';
import { QUORUM_GRACE } from './head.js';
import prelude from './prelude.lua';
import preludeWindow from './prelude/window.lua';
import preludeQuorum from './prelude/quorum.lua';
import preludeReply from './prelude/reply.lua';
import read from './read.lua';
import acquire from './acquire.lua';
import report from './report.lua';
import settle from './settle.lua';
import command from './command.lua';
import inspect from './inspect.lua';
import renew from './renew.lua';
import feedList from './feed-list.lua';
import feedPoll from './feed-poll.lua';
import historyAdd from './history-add.lua';
import historyRead from './history-read.lua';
import beat from './beat.lua';
import leave from './leave.lua';
import members from './members.lua';
import member from './member.lua';

/** Script name (as clients define it) → file and source. */
const FILES = {
  infuseRead: ['read.lua', read],
  infuseAcquire: ['acquire.lua', acquire],
  infuseReport: ['report.lua', report],
  infuseSettle: ['settle.lua', settle],
  infuseCommand: ['command.lua', command],
  infuseInspect: ['inspect.lua', inspect],
  infuseRenew: ['renew.lua', renew],
  infuseIndex: ['feed-list.lua', feedList],
  infusePoll: ['feed-poll.lua', feedPoll],
  infuseHistoryAdd: ['history-add.lua', historyAdd],
  infuseHistoryRead: ['history-read.lua', historyRead],
  infuseBeat: ['beat.lua', beat],
  infuseLeave: ['leave.lua', leave],
  infuseMembers: ['members.lua', members],
  infuseMember: ['member.lua', member],
} as const;

export type ScriptName = keyof typeof FILES;

/**
 * The prelude every `--! prelude` script runs after, its parts in the order Redis runs them (a
 * part uses what the parts before it define); the first declares (see prelude.lua).
 */
export const PRELUDE: Prelude = [
  { file: 'prelude.lua', source: prelude },
  { file: 'prelude/window.lua', source: preludeWindow },
  { file: 'prelude/quorum.lua', source: preludeQuorum },
  { file: 'prelude/reply.lua', source: preludeReply },
];

/** Values of the scripts' `--! constants`. */
const CONSTANTS = { GRACE: QUORUM_GRACE };

/** Every script, by name. */
export const SCRIPTS = Object.fromEntries(
  Object.entries(FILES).map(([name, [file, source]]) => [
    name,
    compile(name, file, source, PRELUDE, CONSTANTS),
  ]),
) as Readonly<Record<ScriptName, Script>>;

/** The keys of every circuit script, in order (prelude.lua's `--! keys`). */
export const CIRCUIT_KEYS = SCRIPTS.infuseRead.keys;

export type { Arg, Script } from './declare.js';
export { argv, fieldsOf } from './declare.js';
export { MANUAL_OPEN_MAX, QUORUM_GRACE, scriptHead, type ScriptSettings } from './head.js';
