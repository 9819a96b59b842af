import { Body, Controller, Param, ParseIntPipe, Post, Redirect, UseFilters } from '@nestjs/common';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { PatientFormFilter } from '../patient-form.filter';
import { EditRepresentativeDto, RepresentativeDto, RevokeRepresentativeDto } from './dto/representative.dto';
import { RepresentativesService } from './representatives.service';

// Post/redirect/get back to the Patient Portal tab; a refused form re-renders the tab (PatientFormFilter).
const back = (id: number, saved: string) => ({ url: `/patients/${id}?tab=portal&saved=${saved}`, statusCode: 303 });

/** The Patient Portal tab's representative forms: add, edit, revoke, invite, unlock sign-in. */
@Controller('patients/:id/representatives')
@UseFilters(PatientFormFilter)
export class RepresentativesController {
  constructor(private readonly representatives: RepresentativesService) {}

  @Post()
  @Redirect()
  async add(@Param('id', ParseIntPipe) id: number, @Body() form: RepresentativeDto, @Audit() audit: AuditContext) {
    await this.representatives.add(id, form, audit);
    return back(id, 'representative_added');
  }

  @Post(':repId/edit')
  @Redirect()
  async edit(
    @Param('id', ParseIntPipe) id: number,
    @Param('repId', ParseIntPipe) repId: number,
    @Body() form: EditRepresentativeDto,
    @Audit() audit: AuditContext,
  ) {
    const changed = await this.representatives.update(id, repId, form, audit);
    return back(id, changed ? 'representative_updated' : 'unchanged');
  }

  @Post(':repId/revoke')
  @Redirect()
  async revoke(
    @Param('id', ParseIntPipe) id: number,
    @Param('repId', ParseIntPipe) repId: number,
    @Body() form: RevokeRepresentativeDto,
    @Audit() audit: AuditContext,
  ) {
    await this.representatives.revoke(id, repId, form, audit);
    return back(id, 'representative_revoked');
  }

  @Post(':repId/invite')
  @Redirect()
  async invite(@Param('id', ParseIntPipe) id: number, @Param('repId', ParseIntPipe) repId: number, @Audit() audit: AuditContext) {
    const kind = await this.representatives.invite(id, repId, audit);
    return back(id, kind === 'invite' ? 'representative_invite' : 'representative_reset');
  }

  @Post(':repId/unlock')
  @Redirect()
  async unlock(@Param('id', ParseIntPipe) id: number, @Param('repId', ParseIntPipe) repId: number, @Audit() audit: AuditContext) {
    const changed = await this.representatives.unlock(id, repId, audit);
    return back(id, changed ? 'representative_unlocked' : 'unchanged');
  }
}
