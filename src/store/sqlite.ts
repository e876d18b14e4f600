import sqlite3 from 'sqlite3';

export type SqlValue = string | number | bigint | null | Buffer;
export type Row = Record<string, SqlValue>;

/** The statements a repository needs; both the database and an open transaction provide them. */
export interface SqlExecutor {
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number; lastID: number }>;
  get<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqliteDatabase extends SqlExecutor {
  /**
   * Runs `work` inside BEGIN IMMEDIATE … COMMIT, rolling back if it throws. Statements outside the
   * transaction wait until it ends, so they can never be swept into (or rolled back with) it.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Grows with every statement that may have written (run, exec, transaction); reads leave it alone. */
  writeCount(): number;
  close(): Promise<void>;
}

/** A FIFO async mutex: one connection must not interleave a transaction with other statements. */
function createMutex(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work, work);
    tail = result.catch(() => undefined);
    return result;
  };
}

function executor(db: sqlite3.Database): SqlExecutor {
  return {
    run: (sql, params = []) =>
      new Promise((resolve, reject) => {
        db.run(sql, params, function onRun(this: sqlite3.RunResult, err: Error | null) {
          if (err) reject(err);
          else resolve({ changes: this.changes, lastID: this.lastID });
        });
      }),
    get: <T extends Row>(sql: string, params: readonly SqlValue[] = []) =>
      new Promise<T | undefined>((resolve, reject) => {
        db.get(sql, params, (err: Error | null, row: T | undefined) => (err ? reject(err) : resolve(row)));
      }),
    all: <T extends Row>(sql: string, params: readonly SqlValue[] = []) =>
      new Promise<T[]>((resolve, reject) => {
        db.all(sql, params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows)));
      }),
    exec: (sql) =>
      new Promise<void>((resolve, reject) => {
        db.exec(sql, (err: Error | null) => (err ? reject(err) : resolve()));
      }),
  };
}

export function openDatabase(filename: string): Promise<SqliteDatabase> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(filename, (err) => {
      if (err) {
        reject(err);
        return;
      }
      const direct = executor(db);
      const exclusive = createMutex();
      let writes = 0;
      /** Counts a write once it has settled, so a read that follows it sees the new data. */
      const counted = <T>(work: () => Promise<T>): Promise<T> =>
        exclusive(work).finally(() => {
          writes++;
        });
      resolve({
        run: (sql, params) => counted(() => direct.run(sql, params)),
        get: (sql, params) => exclusive(() => direct.get(sql, params)),
        all: (sql, params) => exclusive(() => direct.all(sql, params)),
        exec: (sql) => counted(() => direct.exec(sql)),
        writeCount: () => writes,
        transaction: (work) =>
          counted(async () => {
            await direct.run('BEGIN IMMEDIATE');
            try {
              const result = await work(direct);
              await direct.run('COMMIT');
              return result;
            } catch (error) {
              await direct.run('ROLLBACK').catch(() => undefined);
              throw error;
            }
          }),
        close: () =>
          exclusive(
            () => new Promise<void>((res, rej) => db.close((e: Error | null) => (e ? rej(e) : res()))),
          ),
      });
    });
  });
}
