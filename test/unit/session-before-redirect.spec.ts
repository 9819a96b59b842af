import express, { type NextFunction, type Request, type Response } from 'express';
import session, { MemoryStore, type SessionData } from 'express-session';
import request from 'supertest';
import { redirectSaved } from '../../src/common/views/flash';

declare module 'express-session' {
  interface SessionData {
    note?: string;
  }
}

/** A store as slow to write as a busy database; reads are immediate. */
class SlowWritingStore extends MemoryStore {
  writes = 0;
  override set(sid: string, data: SessionData, callback?: (error?: unknown) => void): void {
    this.writes += 1;
    setTimeout(() => super.set(sid, data, callback), 300);
  }
}

/**
 * superagent, like a browser, follows a 303 as soon as its headers arrive; express-session stores
 * a changed session while the headers are already out. What the POST put in the session must be
 * there when the page it redirects to is read.
 */
describe('a redirect waits until the session is stored', () => {
  const appWith = (store: SlowWritingStore, waitForTheStore: boolean) => {
    const app = express();
    app.use(session({ secret: 'test-secret', store, resave: false, saveUninitialized: false }));
    app.post('/note', (req: Request, res: Response, next: NextFunction) => {
      req.session.note = 'saved before the redirect';
      if (!waitForTheStore) return res.redirect(303, '/note');
      redirectSaved(req, res, '/note').catch(next);
    });
    app.get('/note', (req: Request, res: Response) => res.send(req.session.note ?? 'nothing'));
    app.get('/elsewhere', (req: Request, res: Response, next: NextFunction) => {
      redirectSaved(req, res, '/note').catch(next);
    });
    return app;
  };

  it('shows on the next page what the request before it stored', async () => {
    const store = new SlowWritingStore();
    const agent = request.agent(appWith(store, true));
    const res = await agent.post('/note').redirects(1);
    expect(res.text).toBe('saved before the redirect');
  });

  it('is needed: without it the next page reads the session before the write lands', async () => {
    const store = new SlowWritingStore();
    const agent = request.agent(appWith(store, false));
    const res = await agent.post('/note').redirects(1);
    expect(res.text).toBe('nothing');
  });

  it('writes nothing for a session that holds nothing yet', async () => {
    const store = new SlowWritingStore();
    const agent = request.agent(appWith(store, true));
    await agent.get('/elsewhere').redirects(1).expect(200, 'nothing');
    expect(store.writes).toBe(0);
  });

  it('answers with an error, never a silent loss, when the store cannot write', async () => {
    const store = new SlowWritingStore();
    store.set = (_sid, _data, callback) => callback?.(new Error('store down'));
    const app = appWith(store, true);
    app.use((_error: Error, _req: Request, res: Response, _next: unknown) => {
      res.status(503).send('not saved');
    });
    const res = await request(app).post('/note');
    expect(res.status).toBe(503);
  });
});
