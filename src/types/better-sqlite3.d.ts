/** The part of better-sqlite3's API the backup tools and the bench use (the package ships no types; @types is not installed). */
declare module 'better-sqlite3' {
  namespace Database {
    interface Statement {
      get(...params: unknown[]): unknown;
      all(...params: unknown[]): unknown[];
      run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
      /** True when the statement returns rows. */
      readonly reader: boolean;
    }
    interface Database {
      pragma(source: string, options?: { simple?: boolean }): unknown;
      prepare(source: string): Statement;
      backup(
        destination: string,
        options?: { progress?: (info: { totalPages: number; remainingPages: number }) => number },
      ): Promise<unknown>;
      close(): void;
    }
  }
  const Database: new (filename: string, options?: { readonly?: boolean; fileMustExist?: boolean }) => Database.Database;
  export = Database;
}
