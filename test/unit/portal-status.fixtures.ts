/** Every combination of the three fields the Portal status depends on (unit and database tests). */
export const STATUS_COMBINATIONS = [false, true].flatMap((accessEnabled) =>
  [null, '2026-01-02 03:04:05'].flatMap((invitedAt) =>
    [null, '2026-01-03 03:04:05'].map((firstLoginAt) => ({ accessEnabled, invitedAt, firstLoginAt })),
  ),
);
