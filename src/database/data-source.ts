import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';

/** For the TypeORM CLI (npm run migration:run / migration:revert): exports exactly one DataSource. */
export default new DataSource(buildDataSourceOptions(loadConfig().database));
