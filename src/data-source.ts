import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './config/app-config';
import { APP_SCHEMA } from './app.schema';
import { buildDataSourceOptions } from './database/data-source-options';

/** For the TypeORM CLI (npm run migration:run / migration:revert): exports exactly one DataSource. */
export default new DataSource(buildDataSourceOptions(loadConfig().database, APP_SCHEMA));
