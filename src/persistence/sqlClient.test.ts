import { describe, expect, it } from 'vitest';
import { classifyDbError } from './sqlClient.ts';

/** A driver error as pg raises it: a message, and a SQLSTATE or socket code when there is one. */
const dbError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('classifyDbError', () => {
  it.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['57P02', 'terminating connection because of crash of another server process'],
    ['57P03', 'the database system is starting up'],
    ['57P03', 'the database system is shutting down'],
    ['57P05', 'terminating connection due to idle-session timeout'],
    ['53300', 'sorry, too many clients already'],
    ['57014', 'canceling statement due to statement timeout'],
    ['25P03', 'terminating connection due to idle-in-transaction timeout'],
    ['40P01', 'deadlock detected'],
    ['40001', 'could not serialize access due to concurrent update'],
    ['08006', 'connection failure'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'],
    ['ECONNRESET', 'read ECONNRESET'],
    ['EPIPE', 'write EPIPE'],
    ['ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:5432'],
    [undefined, 'Connection terminated unexpectedly'],
    [undefined, 'Connection terminated due to connection timeout'],
    [undefined, 'timeout exceeded when trying to connect'],
    [undefined, 'Client has encountered a connection error and is not queryable'],
    [undefined, 'Query read timeout'],
  ])('%s %s: the database is unavailable, not a bug', (code, message) => {
    expect(classifyDbError(dbError(message, code))).toEqual({
      kind: 'unavailable',
      message: `database unavailable: ${message}`,
    });
  });

  it.each([
    ['42P01', 'relation "contacts" does not exist'],
    ['42601', 'syntax error at or near "SELEC"'],
    [undefined, 'Cannot read properties of undefined'],
  ])('%s %s: a bug, thrown', (code, message) => {
    expect(classifyDbError(dbError(message, code))).toBeNull();
  });
});
