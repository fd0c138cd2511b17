/**
 * How the PostgreSQL engine's operations send their SQL: one function, bound either to the pool
 * (each statement on its own, committed when it returns) or to the one client of an `atomic`
 * unit (inside its transaction). The operations are written once against it.
 *
 * Statements are named, so each connection parses and plans each of them once (a prepared
 * statement per connection) rather than at every call.
 */
import type pg from 'pg';

/** A named SQL statement. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** Runs `statement` with `values` and returns its rows. */
export type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(statement: Statement, values: readonly unknown[]) => Promise<R[]>;

/** A {@link Query} on `db`: the pool, or a client checked out of it. */
export function queryOn(db: Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>): Query {
  return async <R extends pg.QueryResultRow>(statement: Statement, values: readonly unknown[]): Promise<R[]> => {
    const result = await (db as Pick<pg.PoolClient, 'query'>).query<R>({ name: statement.name, text: statement.text, values: [...values] });
    return result.rows;
  };
}
